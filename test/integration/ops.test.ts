import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { collectStatus, formatStatus } from "../../src/cli/status.ts";
import { runDigest } from "../../src/mail/digests.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { addPartner } from "../../src/partners/service.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { runCli } from "../helpers/cli.ts";
import { inspectRedis } from "../../src/redis/check.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { testApp } from "../helpers/http.ts";
import { parsePrometheus, sampleValue } from "../helpers/prometheus.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime | undefined;
let app: FastifyInstance | undefined;
let workers: Workers | undefined;
afterEach(async () => {
  await workers?.close();
  await app?.close();
  await rt?.destroy();
  workers = app = rt = undefined;
});

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

describe("dashboard", () => {
  it("is behind basic auth with ADMIN_PASSWORD", async () => {
    rt = await testRuntime({ config: { adminPassword: "correct horse battery" } });
    app = await testApp(rt);
    expect((await app.inject("/admin/queues")).statusCode).toBe(401);
    expect(
      (await app.inject({ url: "/admin/queues", headers: { authorization: basic("admin", "wrong") } })).statusCode,
    ).toBe(401);
    const ok = await app.inject({
      url: "/admin/queues",
      headers: { authorization: basic("admin", "correct horse battery") },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain("<html");
    const api = await app.inject({
      url: "/admin/queues/api/queues",
      headers: { authorization: basic("admin", "correct horse battery") },
    });
    expect(api.statusCode).toBe(200);
    expect(JSON.stringify(api.json())).toContain("release-events");
  });

  it("is off without a password", async () => {
    rt = await testRuntime();
    app = await testApp(rt);
    expect((await app.inject("/admin/queues")).statusCode).toBe(404);
  });
});

describe("metrics", () => {
  it("parses, and counters move with real work", async () => {
    rt = await testRuntime({ label: "metrics" });
    app = await testApp(rt);
    const before = parsePrometheus((await app.inject("/metrics")).body);
    expect(sampleValue(before, "herald_queue_jobs", { queue: "release-events", state: "waiting" })).toBe(0);
    expect(sampleValue(before, "process_cpu_user_seconds_total")).toBeGreaterThanOrEqual(0);

    await new ReleaseService(rt).publish(sampleRelease({ id: "metric-one" }));
    const queued = parsePrometheus((await app.inject("/metrics")).body);
    expect(sampleValue(queued, "herald_queue_jobs", { queue: "release-events", state: "waiting" })).toBe(1);

    workers = startWorkers(rt, ["release-events"]);
    const after = await eventually(
      async () => {
        const s = parsePrometheus((await app!.inject("/metrics")).body);
        return sampleValue(s, "herald_jobs_completed_total", { queue: "release-events" }) === 1 ? s : null;
      },
      10_000,
      "the completed-jobs counter",
    );
    expect(
      sampleValue(after, "herald_http_request_duration_seconds_count", {
        route: "/metrics",
        method: "GET",
        status_code: "200",
      }),
    ).toBeGreaterThan(0);
  });
});

describe("Redis settings check", () => {
  it("reports missing persistence on the throwaway test Redis", async () => {
    rt = await testRuntime();
    const s = await inspectRedis(rt.redis);
    expect(s.maxmemoryPolicy).toBe("noeviction");
    expect(s.aofEnabled).toBe(false);
    expect(s.problems.join(" ")).toMatch(/persistence is off/);
  });
});

describe("herald status", () => {
  it("shows queues, subscribers by status, digest runs, partners and Redis settings (--json too)", async () => {
    rt = await testRuntime({ label: "status", config: { secretKey: "s".repeat(40) } });
    const subs = new SubscriberService(rt);
    await subs.upsert({ email: "one@example.org", frequency: "daily" }, { confirmed: true });
    await subs.upsert({ email: "two@example.org", frequency: "daily" }, { confirmed: true });
    await subs.upsert({ email: "three@example.org" }, { confirmed: false });
    await new ReleaseService(rt).publish(sampleRelease({ publishedAt: new Date(Date.now() - 3600_000).toISOString() }));
    await runDigest(rt, "daily", Date.now(), { dryRun: false });
    await addPartner(rt, { name: "Wire service", url: "http://127.0.0.1:9/hooks", allowPrivate: true });

    const s = await collectStatus(rt);
    expect(s.subscribers).toMatchObject({ confirmed: 2 });
    expect(s.subscribers.pending).toBe(1);
    expect(s.digestRuns[0]).toMatchObject({ frequency: "daily", readers: 2 });
    expect(s.queues["release-events"]!.waiting).toBe(1);
    expect(s.redis.maxmemoryPolicy).toBe("noeviction");
    expect(s.shards).toBe(1);
    const text = formatStatus(s);
    expect(text).toMatch(/subscribers: .*confirmed 2.*; readers' data in 1 shard\(s\) \(REDIS_SHARDS\)/);
    expect(text).toContain("Wire service");

    const cli = await runCli(["status", "--json"], {
      REDIS_URL: redisUrl(),
      HERALD_PREFIX: rt.config.prefix,
      SECRET_KEY: "s".repeat(40),
    });
    expect(cli.code).toBe(0);
    const json = JSON.parse(cli.stdout);
    expect(Object.keys(json).sort()).toEqual([
      "digestRuns",
      "partners",
      "prefix",
      "queues",
      "redis",
      "releases",
      "shards",
      "subscribers",
      "workers",
    ]);
  }, 90_000);
});
