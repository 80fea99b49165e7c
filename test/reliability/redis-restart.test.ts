// Redis itself crashes mid-run and comes back on the same port: the workers reconnect by
// themselves and the run completes with nothing lost.
//
// How the crash is made: SIGKILL of redis-server (no shutdown hook, no final fsync), with AOF on.
// Production runs appendfsync everysec, where a kill may lose the last second of writes, so a
// job acknowledged just before the kill can come back and run again; that is the duplicate
// window, not a loss, because every job is idempotent and producers only answer after Redis
// acknowledged. To make "nothing acknowledged is lost" an exact assertion here, this server
// runs with appendfsync always (CONFIG SET after start); everysec is the same test with a
// wider duplicate window.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { testConfig } from "../../src/config/index.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { webhookId } from "../../src/partners/envelope.ts";
import { addPartner } from "../../src/partners/service.ts";
import { type EmbeddedRedis, freePort, startRedisServer } from "../../src/redis/embedded.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, uniquePrefix } from "../helpers/runtime.ts";
import { type CrashReceiver, duplicates, startCrashReceiver } from "./receiver.ts";

const EVENTS = 150;

let dir: string | undefined;
let server: EmbeddedRedis | undefined;
let rt: Runtime | undefined;
let workers: Workers | undefined;
let rx: CrashReceiver | undefined;

afterEach(async () => {
  await workers?.close(true);
  await rt?.close();
  await rx?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = server = rt = workers = rx = undefined;
});

/** Crashes the server the way a power cut or the OOM killer would. */
async function killRedis(url: string): Promise<void> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  const info = await admin.info("server");
  admin.disconnect();
  const pid = Number(/process_id:(\d+)/.exec(info)![1]);
  process.kill(pid, "SIGKILL");
  await eventually(
    () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    5_000,
    "redis-server to exit",
  );
}

describe("Redis restart", { timeout: 90_000 }, () => {
  it("workers reconnect by themselves after Redis is SIGKILLed and restarted; every event delivered", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "herald-redis-crash-"));
    const port = await freePort();
    server = await startRedisServer({ dir, port, appendonly: true });
    const admin = new Redis(server.url);
    await admin.config("SET", "appendfsync", "always");
    admin.disconnect();

    rx = await startCrashReceiver();
    const config = testConfig({
      prefix: uniquePrefix("redis"),
      partnerRetrySchedule: [0, 200, 500, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
      workerLockMs: 3000,
      // A delivery in flight at the crash keeps its lease (PARTNER_TIMEOUT_MS + SEND_LEASE_MS, the
      // lease derived from the 3 s lock) and its retry waits that out: keep the timeout short too.
      partnerTimeoutMs: 3000,
    });
    rt = await createRuntime({ config, redisUrl: server.url });
    const paths = ["/a", "/b"];
    for (const p of paths) await addPartner(rt, { name: `Partner ${p}`, url: rx.url(p), allowPrivate: true });
    const svc = new ReleaseService(rt);
    const ids: string[] = [];
    for (let i = 0; i < EVENTS; i++)
      ids.push((await svc.publish(sampleRelease({ id: `rr-${i}`, publishedAt: undefined }))).id);
    const expected = new Set(
      paths.flatMap((p) => ids.map((id) => `${p} ${webhookId({ releaseId: id, revision: 1, event: "published" })}`)),
    );

    workers = startWorkers(rt, [QUEUE.releaseEvents, QUEUE.partners]);
    await eventually(() => rx!.delivered.size >= expected.size / 3, 30_000, "a third of the deliveries");
    await killRedis(server.url);
    const crashAt = Date.now();
    const atCrash = rx.delivered.size;
    // Down for a moment, on purpose: workers and the producer connection see errors and keep retrying.
    await new Promise((r) => setTimeout(r, 1_000));
    server = await startRedisServer({ dir, port, appendonly: true });
    const restartedAt = Date.now();

    await eventually(
      () => rx!.delivered.size >= expected.size,
      60_000,
      `all ${expected.size} deliveries after the restart`,
    );
    expect(new Set(rx.delivered.keys())).toEqual(expected);
    const dup = duplicates(rx.delivered);
    console.info(
      `redis restart run: ${expected.size} deliveries, ${atCrash} before the crash, answered 2xx twice: ${dup.extra}`,
    );
    // A delivery arrives twice only when its job was in flight at the crash: answered just
    // before it, recorded never, run again after the restart. A job holds one of the worker's
    // PARTNER_CONCURRENCY slots from its request until its completion is recorded, so that is
    // the most there can be. (The request itself is limited to PARTNER_MAX_IN_FLIGHT per
    // partner, but a job gives that slot back before BullMQ records the completion.)
    for (const key of dup.keys) {
      const [first, second, ...more] = rx.deliveredAt.get(key)!;
      expect({ key, beforeCrash: first! <= crashAt, afterRestart: second! >= restartedAt, more }).toEqual({
        key,
        beforeCrash: true,
        afterRestart: true,
        more: [],
      });
    }
    expect(dup.extra).toBeLessThanOrEqual(config.partnerConcurrency);
    const failed = await rt.queues[QUEUE.partners].getFailed(0, -1);
    expect(failed.map((j) => `${j.id}: ${j.failedReason}`)).toEqual([]);
    // The producer connection is usable again too (HTTP and CLI use it).
    await eventually(async () => (await rt!.redis.ping()) === "PONG", 10_000, "the producer connection");
  });
});
