// Redis Cluster routes a script by the keys it declares, so a script must touch no key it did not
// pass in KEYS. Standalone Redis does not check; this test does, with MONITOR: every command a
// subscriber or release script runs must name a key from the KEYS of the EVAL/EVALSHA around it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.ts";
import { testConfig } from "../../src/config/index.ts";
import { type EmbeddedRedis, freePort, startRedisServer } from "../../src/redis/embedded.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { memorySource } from "../../src/subscribers/csv.ts";
import { checkCsv, importSubscriberCsv } from "../../src/subscribers/csv-import.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { subscriberId } from "../../src/subscribers/store.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, uniquePrefix } from "../helpers/runtime.ts";

const clock = fixedClock("2026-11-01T09:00:00Z");
// Its own redis-server: MONITOR sees every client, and the other test files' traffic on the shared
// server both drowns the lines this test reads and trips ioredis' monitor mode under load.
let server: EmbeddedRedis;
let dir: string;
let rt: Runtime;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "herald-lua-keys-"));
  server = await startRedisServer({ dir, port: await freePort(), appendonly: false });
  rt = await createRuntime({
    config: testConfig({ prefix: uniquePrefix("luakeys"), secretKey: "lua-keys-secret-0123456789abcdef0123456789" }),
    redisUrl: server.url,
    clock,
  });
});
afterEach(async () => {
  await rt.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("Lua scripts declare their keys", { timeout: 60_000 }, () => {
  it("every key a subscriber or release script touches is one of its KEYS", async () => {
    const p = rt.config.prefix;
    const monitorClient = new Redis(server.url);
    const monitor = await monitorClient.monitor();
    const lines: { args: string[]; source: string }[] = [];
    monitor.on("monitor", (_time: string, args: string[], source: string) => lines.push({ args, source }));
    try {
      const svc = new SubscriberService(rt);
      await svc.subscribe({ email: "a@example.org", frequency: "weekly", timezone: "Asia/Tokyo" });
      const a = subscriberId("a@example.org");
      await svc.confirm(a);
      await svc.updatePreferences(a, { frequency: "daily", timezone: "Europe/Paris" });
      await svc.upsertMany([{ email: "a@example.org", frequency: "immediate" }, { email: "b@example.org" }], {
        confirmed: true,
      });
      await svc.unsubscribe(a);
      await svc.suppress(subscriberId("b@example.org"), "bounced", "550");
      await svc.upsert({ email: "c@example.org" }, { confirmed: false });
      // The CSV import's duplicate check (one hash per import) and its writes.
      const csv = memorySource("email,name\nd@example.org,D\nD@example.org,again\n");
      expect(await importSubscriberCsv(rt, await checkCsv(csv), { confirmed: true })).toMatchObject({ bad: 1 });
      clock.advance(30 * 86_400_000);
      expect(await svc.expirePending()).toBe(1);
      await rt.redis.hset(`${p}:subs:by-status`, "confirmed", 5);
      await svc.store.countByStatus(); // recount script
      await svc.remove("a@example.org");
      await new ReleaseService(rt).publish(sampleRelease({ id: "lua-keys-release" }));
      // MONITOR lines arrive after the replies, in the order Redis ran the commands: once a
      // marker sent last is seen, every line before it is in.
      const marker = `${p}:monitor-end`;
      await rt.redis.echo(marker);
      await eventually(
        () => lines.some((l) => l.args[0]?.toLowerCase() === "echo" && l.args[1] === marker),
        10_000,
        "the MONITOR line of the marker",
      );
    } finally {
      monitor.disconnect();
      monitorClient.disconnect();
    }

    // A script's commands come right after its EVAL line (scripts run atomically).
    let keys: Set<string> | null = null;
    let checked = 0;
    const stray: string[] = [];
    for (const { args, source } of lines) {
      const cmd = args[0]?.toLowerCase();
      if (source !== "lua") {
        keys = null;
        if (cmd === "eval" || cmd === "evalsha") {
          const n = Number(args[2]);
          const declared = args.slice(3, 3 + n);
          // Ours: the scripts of this prefix outside BullMQ's queues (BullMQ has its own rules).
          if (declared.length && declared.every((k) => k.startsWith(`${p}:`) && !k.startsWith(`${p}:q:`)))
            keys = new Set(declared);
        }
        continue;
      }
      if (!keys) continue;
      checked++;
      const key = args[1] ?? "";
      if (!keys.has(key)) stray.push(`${args.slice(0, 2).join(" ")} (declared: ${[...keys].join(", ")})`);
    }
    expect(stray).toEqual([]);
    expect(checked).toBeGreaterThan(40); // the scripts ran and were seen
  });
});
