// Herald on a real primary + replica watched by a Sentinel: the core flows work through
// redis+sentinel://, a failover in the middle of a send loses nothing, /readyz answers 503 while
// no primary takes writes and 200 again after, and Herald follows the new primary.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, testConfig } from "../../src/config/index.ts";
import { deleteMatching } from "../../src/redis/scan.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { alertArrives, type Herald, heraldConfig, publish, runCoreFlows, startHerald } from "../helpers/core-flows.ts";
import { startSentinelSet, type TestSentinelSet } from "../helpers/redis-ha.ts";
import { eventually, uniquePrefix } from "../helpers/runtime.ts";
import { startSmtp, type TestSmtp } from "../helpers/smtp.ts";
import { type Receiver, startReceiver } from "../helpers/webhook-receiver.ts";

let set: TestSentinelSet;
let smtp: TestSmtp;
let rx: Receiver;
let rt: Runtime;
let herald: Herald;

beforeAll(async () => {
  [set, smtp, rx] = await Promise.all([startSentinelSet(), startSmtp(), startReceiver()]);
  const s = set.sentinels[0]!;
  const parsed = loadConfig({
    REDIS_URL: `redis+sentinel://${s.host}:${s.port}/${set.name}`,
    HERALD_PREFIX: uniquePrefix("sentinel"),
  });
  expect(parsed.redisHa).toMatchObject({ mode: "sentinel", name: set.name, sentinels: [s] });
  rt = await createRuntime({
    config: testConfig({ ...parsed, ...heraldConfig(smtp), emailRatePerSecond: 20 }),
    redisUrl: parsed.redisHa!,
  });
  herald = await startHerald(rt);
}, 60_000);

afterAll(async () => {
  await herald?.stop();
  if (rt) await deleteMatching(rt.redis, rt.keyPatterns()).catch(() => 0);
  await rt?.close();
  await Promise.all([set?.stop(), smtp?.close(), rx?.close()]);
});

const ready = async () => (await herald.app.inject({ url: "/readyz" })).statusCode;

describe("Redis Sentinel", { timeout: 60_000 }, () => {
  it("runs publish -> email, webhooks, feeds, subscribe/confirm/unsubscribe and the daily digest", async () => {
    expect(await ready()).toBe(200);
    await runCoreFlows(herald, smtp, rx, "se");
  });

  it("a failover during a send loses no email and Herald follows the new primary", async () => {
    const readers = Array.from({ length: 40 }, (_, i) => `fo-${i}@example.org`);
    const svc = new SubscriberService(rt);
    for (const email of readers) await svc.upsert({ email, frequency: "immediate" }, { confirmed: true });
    const before = await set.primaryPort();
    await publish(herald, "failover", "Story during a failover");
    // Fail over as soon as the first alert is out: the rest are sent across the switch.
    await eventually(
      () => smtp.messages.some((m) => m.parsed.messageId?.startsWith("<alert-failover-")),
      20_000,
      "the first alert",
    );
    const sentBefore = smtp.messages.filter((m) => m.parsed.messageId?.startsWith("<alert-failover-")).length;
    await set.failover();
    expect(await set.primaryPort()).not.toBe(before);
    // At 20 emails a second the send was still running: the failover really came in the middle.
    expect(sentBefore).toBeLessThan(readers.length);
    for (const email of readers) await alertArrives(smtp, email, "failover", 30_000);
    const alerts = smtp.messages.filter((m) => m.parsed.messageId?.startsWith("<alert-failover-"));
    const twice = alerts.length - new Set(alerts.map((m) => m.to.join())).size;
    console.log(
      `failover: ${alerts.length} alerts for ${readers.length} readers, ${sentBefore} before the failover, ${twice} sent twice`,
    );
    expect(new Set(alerts.map((m) => m.to.join())).size).toBe(readers.length);
    await eventually(async () => (await ready()) === 200, 15_000, "/readyz 200 on the new primary");
    // Writes go to the new primary: it is the one that has Herald's keys now.
    expect(await rt.redis.get(rt.key("release", "failover"))).toBeTruthy();
  });

  it("/readyz answers 503 while no primary takes writes, 200 after; the old primary returns as a replica", async () => {
    const primary = await set.primaryPort();
    await set.kill(primary);
    await eventually(async () => (await ready()) === 503, 10_000, "/readyz 503 with the primary gone");
    // The Sentinel promotes the replica after ~1 s of silence; Herald finds it without a restart.
    await eventually(async () => (await ready()) === 200, 30_000, "/readyz 200 after the failover");
    const now = await set.primaryPort();
    expect(now).not.toBe(primary);
    await set.restart(primary);
    await eventually(
      async () => (await set.role(primary)) === "slave",
      20_000,
      "the old primary to rejoin as a replica",
    );
    expect(await ready()).toBe(200);
    await publish(herald, "after", "Story after the failovers");
    await eventually(
      () => rx.received().some((r) => r.body.includes("after")),
      20_000,
      "the webhook after the failovers",
    );
  });

  it("with passwords on the data nodes and on the Sentinel: REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD", async () => {
    const secured = await startSentinelSet("herald-auth", { password: "data-pass", sentinelPassword: "sentinel-pass" });
    const s = secured.sentinels[0]!;
    const base = {
      REDIS_SENTINELS: `${s.host}:${s.port}`,
      REDIS_SENTINEL_NAME: secured.name,
      HERALD_PREFIX: uniquePrefix("auth"),
    };
    try {
      const good = loadConfig({ ...base, REDIS_PASSWORD: "data-pass", REDIS_SENTINEL_PASSWORD: "sentinel-pass" });
      const authed = await createRuntime({ config: testConfig(good), redisUrl: good.redisHa! });
      try {
        await authed.releases.count();
        await authed.redis.set(authed.key("probe"), "1", "PX", 1000);
      } finally {
        await authed.close();
      }
      // The Sentinel's password is not the data nodes': each is used where it belongs.
      const wrong = loadConfig({ ...base, REDIS_PASSWORD: "sentinel-pass", REDIS_SENTINEL_PASSWORD: "sentinel-pass" });
      const err = await createRuntime({ config: testConfig(wrong), redisUrl: wrong.redisHa! }).then(
        async (r) => {
          await r.close();
          return undefined;
        },
        (e: Error) => e,
      );
      expect(err?.message).toMatch(
        /cannot reach Redis at Sentinel-watched primary "herald-auth".*(WRONGPASS|invalid password|NOAUTH)/,
      );
      expect(err?.message).not.toContain("sentinel-pass");
    } finally {
      await secured.stop();
    }
  });
});
