import { Worker } from "bullmq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRedis } from "../../src/redis/connection.ts";
import { queuePrefix } from "../../src/runtime.ts";
import { runCli } from "../helpers/cli.ts";
import { eventually, redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime;
let env: Record<string, string>;
beforeEach(async () => {
  rt = await testRuntime({ label: "jobs" });
  env = { REDIS_URL: redisUrl(), HERALD_PREFIX: rt.config.prefix };
});
afterEach(() => rt.destroy());

describe("herald jobs", { timeout: 90_000 }, () => {
  it("shows a job and retries a failed one", async () => {
    await rt.queues.websub.add(
      "ping",
      { urls: ["https://example.org/feeds/rss.xml"] },
      { jobId: "ping-one", attempts: 1 },
    );
    const shown = await runCli(["jobs", "show", "websub", "ping-one"], env);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      id: "ping-one",
      name: "ping",
      state: "waiting",
      data: { urls: ["https://example.org/feeds/rss.xml"] },
    });

    const connection = createRedis(redisUrl(), "worker");
    const worker = new Worker(
      "websub",
      async () => {
        throw new Error("hub unreachable");
      },
      { connection, prefix: queuePrefix(rt.config.prefix) },
    );
    worker.on("error", () => {});
    await eventually(
      async () => (await rt.queues.websub.getJobState("ping-one")) === "failed",
      10_000,
      "the job to fail",
    );
    await worker.close();
    connection.disconnect();

    const failed = JSON.parse((await runCli(["jobs", "show", "websub", "ping-one"], env)).stdout);
    expect(failed).toMatchObject({ state: "failed", failedReason: "hub unreachable" });
    const retried = await runCli(["jobs", "retry", "websub", "--all-failed"], env);
    expect(retried.stdout).toMatch(/retrying 1 failed job/);
    expect(await rt.queues.websub.getJobState("ping-one")).toBe("waiting");
  });

  it("answers bad input with one line and a non-zero exit", async () => {
    const unknownQueue = await runCli(["jobs", "show", "nope", "1"], env);
    expect(unknownQueue.code).toBe(1);
    expect(unknownQueue.stderr).toMatch(/^herald: unknown queue "nope"; queues: release-events/);
    const missing = await runCli(["jobs", "retry", "feeds", "no-such-job"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe("herald: no job no-such-job in queue feeds");
    const neither = await runCli(["jobs", "retry", "feeds"], env);
    expect(neither.stderr).toMatch(/--all-failed/);
  });
});
