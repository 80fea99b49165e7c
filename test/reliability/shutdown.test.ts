// Shutdown of a real worker process: SIGTERM lets the active job finish before the process
// exits; a second signal exits at once; with Redis gone, SIGTERM still ends the process within
// SHUTDOWN_TIMEOUT_MS, non-zero, saying what was left.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { generateSecret } from "../../src/partners/model.ts";
import { addPartner, partnerStore } from "../../src/partners/service.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { startCli, stopCli } from "../helpers/cli.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { freePort, startRedisServer } from "../../src/redis/embedded.ts";
import { eventually, redisUrl, type TestRuntime, testRuntime, uniquePrefix } from "../helpers/runtime.ts";
import { type Answer, type Receiver, startReceiver } from "../helpers/webhook-receiver.ts";

let rt: TestRuntime;
let rx: Receiver;
let varDir: string;
beforeEach(async () => {
  rt = await testRuntime({ label: "shutdown" });
  rx = await startReceiver();
  varDir = mkdtempSync(path.join(tmpdir(), "herald-shutdown-"));
});
afterEach(async () => {
  await rx.close();
  await rt.destroy();
  rmSync(varDir, { recursive: true, force: true });
});

async function workerWithHeldDelivery(answer: Answer) {
  const secret = generateSecret();
  rx.route("/slow", { secret, answer: () => answer });
  const { partner } = await addPartner(rt, { name: "Slow", url: rx.url("/slow"), secret, allowPrivate: true });
  const env = {
    REDIS_URL: redisUrl(),
    HERALD_PREFIX: rt.config.prefix,
    VAR_DIR: varDir,
    LOG_LEVEL: "info",
    PARTNER_TIMEOUT_MS: "20000",
  };
  const { child, output } = await startCli(["start", "--workers-only"], env, /workers running for/, 60_000);
  await new ReleaseService(rt).publish(sampleRelease({ id: "held" }));
  await eventually(() => rx.received("/slow").length === 1, 20_000, "the delivery to be in flight");
  return { child, output, partner };
}

describe("worker shutdown", { timeout: 90_000 }, () => {
  it("SIGTERM lets the active delivery finish, then exits 0", async () => {
    const { child, partner } = await workerWithHeldDelivery({ status: 200, delayMs: 1500 });
    const code = await stopCli(child, "SIGTERM");
    expect(code).toBe(0);
    // The answer came while the process was stopping, and the job was completed, not abandoned.
    expect(rx.delivered("/slow")).toHaveLength(1);
    const job = await rt.queues[QUEUE.partners].getJob(`${partner.id}-held-r1-published`);
    expect(await job?.getState()).toBe("completed");
    expect((await partnerStore(rt).deliveryLog(partner.id))[0]).toMatchObject({ outcome: "delivered", status: 200 });
  });

  it("a second signal exits at once", async () => {
    const { child, output } = await workerWithHeldDelivery({ status: 200, hang: true });
    child.kill("SIGTERM");
    await eventually(() => /finishing active jobs/.test(output()), 10_000, "the graceful stop to begin");
    const code = await stopCli(child, "SIGINT");
    expect(code).toBe(1);
    expect(output()).toMatch(/SIGINT again: exiting now/);
  });

  it("with Redis gone, SIGTERM exits within SHUTDOWN_TIMEOUT_MS, non-zero, naming what was left", async () => {
    // Its own redis-server, killed under it (the shared one serves the other tests).
    const redis = await startRedisServer({
      dir: path.join(varDir, "redis"),
      port: await freePort(),
      appendonly: false,
    });
    const port = await freePort();
    const env = {
      REDIS_URL: redis.url,
      HERALD_PREFIX: uniquePrefix("gone"),
      VAR_DIR: varDir,
      PORT: String(port),
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: "1500",
    };
    const { child, output } = await startCli(["start"], env, /workers running for/, 60_000);
    try {
      await redis.stop();
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 503,
        10_000,
        "/readyz 503 with Redis gone",
      );
      const started = Date.now();
      const code = await stopCli(child, "SIGTERM");
      const took = Date.now() - started;
      expect(code).toBe(1);
      expect(took).toBeLessThan(1500 + 3000);
      expect(output()).toMatch(
        /shutdown did not finish within 1500 ms \(SHUTDOWN_TIMEOUT_MS\); exiting with work left: /,
      );
      expect(output()).not.toMatch(/"msg":"stopped"/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await redis.stop();
    }
  });
});
