// Digest scaling benchmark: one `digest run daily` through the queue with 1, 2 and 3 Herald
// worker processes (each: digest and email workers, as `herald start --workers-only`), on the
// same data set, to the same SMTP sink (its own process). The run is split into planning parts
// (DIGEST_PART_SIZE readers each) that every worker plans and sends at once. Prints emails/s per
// worker count, and Redis memory per subscriber (used_memory after seeding the readers, minus
// before, over the readers) and per email sent (what the run left, over the emails), with the key
// families behind each (MEMORY USAGE). Uses its own throwaway redis-server, flushed between runs.
//   npx tsx bench/digest-scale.ts [readers=10000] [workers=1,2,3]
// On a machine with fewer free cores than processes (Herald's + the sink + Redis), the figures
// measure the machine, not Herald: the load average before each run is printed with it.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { testConfig } from "../src/config/index.ts";
import type { DigestSummary } from "../src/mail/digests.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { Ledger } from "../src/mail/ledger.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import { ReleaseService } from "../src/releases/service.ts";
import { createRuntime, type Runtime } from "../src/runtime.ts";
import { SubscriberStore } from "../src/subscribers/store.ts";
import { seedDailyReaders } from "../test/helpers/readers.ts";

const READERS = Number(process.argv[2] ?? process.env.BENCH_READERS ?? 10_000);
const WORKERS = (process.argv[3] ?? "1,2,3").split(",").map(Number);
const PART_SIZE = Number(process.env.BENCH_PART_SIZE ?? 1000);
const TOPICS = 17;
const RELEASES = 20;
const SECRET = "bench-secret-key-0123456789abcdef0123456789";
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HERALD_FLAGS = process.env.BENCH_HERALD_FLAGS ?? "--max-old-space-size=256";

function herald(args: object) {
  const c = fork(path.join(here, "_digest-fanout-process.ts"), ["herald", JSON.stringify(args)], {
    execArgv: ["--import", "tsx", ...HERALD_FLAGS.split(" ").filter(Boolean)],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`herald process exited (${code})`));
      c.once("exit", onExit);
      c.once("message", (m) => {
        c.off("exit", onExit);
        resolve(m as T);
      });
    });
  return { next, send: (m: string) => c.send(m) };
}

async function startSink() {
  const child = fork(path.join(here, "smtp-sink.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      const m = /PORT (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`smtp sink exited (${code})`)));
  });
  return { port, stop: () => child.send("stop") };
}

async function used(rt: Runtime): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await rt.redis.info("memory"))![1]);
}

/** Bytes by key family (MEMORY USAGE of every key): bench:sub:x -> sub, bench:q:emails:1 -> q:emails. */
async function families(rt: Runtime): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let cursor = "0";
  do {
    const [c, keys] = await rt.redis.scan(cursor, "COUNT", 1000);
    cursor = c;
    const sizes = await Promise.all(keys.map((k) => rt.redis.memory("USAGE", k, "SAMPLES", "0")));
    keys.forEach((k, i) => {
      const parts = k.split(":").slice(1);
      const family = parts[0] === "q" ? parts.slice(0, 2).join(":") : parts[0]!;
      out.set(family, (out.get(family) ?? 0) + Number(sizes[i] ?? 0));
    });
  } while (cursor !== "0");
  return out;
}

function grown(after: Map<string, number>, before: Map<string, number>, per: number): string {
  return [...after.entries()]
    .map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / per] as const)
    .filter(([, v]) => Math.abs(v) >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(", ");
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-redis-"));
  const redisServer = await startRedisServer({ dir, port: await freePort(), appendonly: false });
  const sink = await startSink();
  const overrides = {
    prefix: "bench",
    smtpUrl: `smtp://127.0.0.1:${sink.port}`,
    secretKey: SECRET,
    emailRatePerSecond: 100_000,
    publicUrl: "https://news.example.org",
    mailFrom: "News <news@bench.example>",
    digestPartSize: PART_SIZE,
  };
  const config = testConfig(overrides);
  const rt = await createRuntime({ config, redisUrl: redisServer.url });
  const rows: object[] = [];
  try {
    for (const workers of WORKERS) {
      await rt.redis.flushall();
      const svc = new ReleaseService(rt);
      const now = Date.now();
      for (let i = 0; i < TOPICS; i++)
        await rt.taxonomy.add("topics", {
          slug: `topic-${i}`,
          labels: { en: `Topic ${i}`, fr: `Thème ${i}`, es: `Tema ${i}` },
        });
      for (let i = 0; i < RELEASES; i++) {
        await svc.publish({
          id: `bench-release-${i}`,
          title: `Bench Release ${i}: Border Officials Trained in Victim Identification`,
          summary:
            "A three-day course for border officials on identifying and referring victims of trafficking, with partners from four countries.",
          body: "<p>IOM this week trained forty border officials.</p>",
          dateline: "Djibouti",
          publishedAt: new Date(now - (RELEASES - i) * 600_000).toISOString(),
          topics: [`topic-${i % TOPICS}`],
          regions: ["djibouti"],
          url: `https://www.iom.example/news/bench-${i}`,
        });
      }
      const [u0, f0] = [await used(rt), await families(rt)];
      const store = new SubscriberStore(rt.redis, config.prefix);
      await seedDailyReaders(store, READERS, {
        topics: TOPICS,
        since: new Date(now - 30 * 86_400_000).toISOString(),
        emailOf: (j) => `reader${j}@bench.example`,
        chunk: 2000,
      });
      const [u1, f1] = [await used(rt), await families(rt)];

      const procs = Array.from({ length: workers }, () => herald({ redisUrl: redisServer.url, config: overrides }));
      await Promise.all(procs.map((p) => p.next()));
      const load = loadavg()[0]!;
      const t0 = performance.now();
      const at = Date.now();
      const job = await rt.queues[QUEUE.digests].add(
        "run",
        { frequency: "daily", at: new Date(at).toISOString() },
        { jobId: `bench-run-${at}` },
      );
      let summary: DigestSummary | undefined;
      while (!summary) {
        const state = await job.getState();
        if (state === "completed")
          summary = ((await rt.queues[QUEUE.digests].getJob(job.id!))!.returnvalue as DigestSummary[])[0];
        else if (state === "failed") throw new Error("run failed");
        else await sleep(50);
      }
      const ledger = new Ledger(rt.redis, config.prefix);
      // Done when no part is left to plan, no batch to send, and every planned reader is settled.
      for (;;) {
        const planning = Object.values(
          await rt.queues[QUEUE.digests].getJobCounts("waiting", "active", "delayed", "prioritized"),
        ).some((n) => n > 0);
        const p = await ledger.progress(summary.edition);
        if (!planning && p.total > 0 && p.sent + p.skipped + p.failed >= p.total) break;
        await sleep(50);
      }
      const seconds = (performance.now() - t0) / 1000;
      const p = await ledger.progress(summary.edition);
      const stats = [];
      for (const proc of procs) {
        proc.send("stop");
        stats.push(await proc.next<{ peakRss: number; cpuMs: number; renders: number }>());
      }
      await sleep(300);
      const [u2, f2] = [await used(rt), await families(rt)];
      const row = {
        workers,
        readers: READERS,
        parts: summary.parts ?? 1,
        sent: p.sent,
        seconds: Number(seconds.toFixed(2)),
        emailsPerSecond: Math.round(p.sent / seconds),
        renders: stats.reduce((n, s) => n + s.renders, 0),
        cpuMsPerEmail: Number((stats.reduce((n, s) => n + s.cpuMs, 0) / p.sent).toFixed(3)),
        peakRssMb: Math.max(...stats.map((s) => Math.round(s.peakRss / 1048576))),
        redisBytesPerSubscriber: Math.round((u1 - u0) / READERS),
        redisBytesPerEmail: Math.round((u2 - u1) / p.sent),
        load1: Number(load.toFixed(1)),
      };
      rows.push(row);
      process.stdout.write(
        `${workers} worker process(es): ${row.sent} emails in ${row.seconds} s = ${row.emailsPerSecond} emails/s (${row.parts} parts, ${row.renders} MJML renders, ${row.cpuMsPerEmail} CPU ms/email, peak RSS ${row.peakRssMb} MB, load ${row.load1} before)\n` +
          `  Redis per subscriber: ${row.redisBytesPerSubscriber} B used_memory (${grown(f1, f0, READERS)})\n` +
          `  Redis per email sent: ${row.redisBytesPerEmail} B used_memory (${grown(f2, f1, p.sent)})\n`,
      );
    }
    process.stdout.write(`BENCH ${JSON.stringify({ name: "digest-scale", rows })}\n`);
  } finally {
    await rt.close();
    sink.stop();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
