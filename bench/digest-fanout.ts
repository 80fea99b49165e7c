// Digest fan-out benchmark: N readers (default 100,000; BENCH_READERS or argv[2]) in ~50
// segments (3 languages x 17 topics), 20 releases, one `digest run daily` through the queue to an
// SMTP server in a separate process. Prints emails/s end to end, MJML renders, peak RSS and
// Redis memory before/after, then the ceiling: nodemailer's pool sending the same pre-rendered
// messages to the same server with no queue. Uses its own throwaway redis-server.
// Herald's workers and the ceiling each run in a process of their own (_digest-fanout-process.ts):
// the peak RSS is Herald's alone, and each side's CPU time per email is printed, a figure that
// holds better than emails/s when other work shares the machine.
//   npx tsx bench/digest-fanout.ts [readers]
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { testConfig } from "../src/config/index.ts";
import type { DigestSummary } from "../src/mail/digests.ts";
import { PROCESSORS } from "../src/jobs/processors.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { IN_FLIGHT } from "../src/mail/send-emails.ts";
import { Ledger } from "../src/mail/ledger.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import { ReleaseService } from "../src/releases/service.ts";
import { createRuntime, type Runtime } from "../src/runtime.ts";
import { SubscriberStore } from "../src/subscribers/store.ts";
import { seedDailyReaders } from "../test/helpers/readers.ts";

// 100,000 takes about four minutes here; the default keeps a routine run near one minute.
const READERS = Number(process.argv[2] ?? process.env.BENCH_READERS ?? 100_000);
const TOPICS = 17;
const RELEASES = 20;
const SECRET = "bench-secret-key-0123456789abcdef0123456789";
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Node flags per side. Herald's workers run with the heap limit the README recommends for worker
 * processes (docker-compose sets it too): without it V8 lets the old generation grow to ~190 MB
 * before its first full collection although the live heap stays near 50 MB.
 */
const FLAGS = {
  herald: process.env.BENCH_HERALD_FLAGS ?? "--max-old-space-size=256",
  ceiling: process.env.BENCH_CEILING_FLAGS ?? "",
};

/** Starts a role of _digest-fanout-process.ts; resolves its first message, and each later one on demand. */
function child(role: "herald" | "ceiling", args: object) {
  const c = fork(path.join(here, "_digest-fanout-process.ts"), [role, JSON.stringify(args)], {
    execArgv: ["--import", "tsx", ...FLAGS[role].split(" ").filter(Boolean)],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${role} process exited (${code})`));
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
  const count = () =>
    new Promise<number>((resolve) => {
      child.once("message", (m) => resolve((m as { count: number }).count));
      child.send("count");
    });
  return { port, count, stop: () => child.send("stop") };
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/** used_memory, and what the run leaves behind by key family (MEMORY USAGE of each key). */
async function redisMemory(rt: Runtime): Promise<{ used: number; families: Map<string, number> }> {
  const used = Number(/used_memory:(\d+)/.exec(await rt.redis.info("memory"))![1]);
  const families = new Map<string, number>();
  let cursor = "0";
  do {
    const [c, keys] = await rt.redis.scan(cursor, "COUNT", 1000);
    cursor = c;
    const sizes = await Promise.all(keys.map((k) => rt.redis.memory("USAGE", k, "SAMPLES", "0")));
    keys.forEach((k, i) => {
      // bench:ledger:daily-run-1 -> ledger, bench:q:emails:123 -> q:emails, bench:sub:s1 -> sub
      const parts = k.split(":").slice(1);
      const family = parts[0] === "q" ? parts.slice(0, 2).join(":") : parts[0]!;
      families.set(family, (families.get(family) ?? 0) + Number(sizes[i] ?? 0));
    });
  } while (cursor !== "0");
  return { used, families };
}

/** The segment ids of an edition, from the stored segments. */
async function storedSegments(rt: Runtime, edition: string): Promise<string[]> {
  const prefix = rt.key("segment", edition, "");
  const out: string[] = [];
  let cursor = "0";
  do {
    const [c, keys] = await rt.redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = c;
    for (const k of keys) out.push(k.slice(prefix.length));
  } while (cursor !== "0");
  return out.sort();
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-redis-"));
  const redisServer = await startRedisServer({ dir, port: await freePort(), appendonly: false });
  const sink = await startSink();
  const smtpUrl = `smtp://127.0.0.1:${sink.port}`;
  const overrides = {
    prefix: "bench",
    smtpUrl,
    secretKey: SECRET,
    emailRatePerSecond: 100_000,
    publicUrl: "https://news.example.org",
    mailFrom: "News <news@bench.example>",
  };
  const config = testConfig(overrides);
  const rt = await createRuntime({ config, redisUrl: redisServer.url });
  // The ceiling gets the concurrency the workers have: jobs at once x messages in flight per job.
  const concurrency = Number(PROCESSORS[QUEUE.emails]!.options!({ config } as Runtime).concurrency ?? 1) * IN_FLIGHT;

  try {
    // 20 releases over the last hours, topic-0 .. topic-16.
    const svc = new ReleaseService(rt);
    const now = Date.now();
    // Synthetic topics are not in the built-in vocabulary: added like ops would (herald taxonomy add).
    for (let i = 0; i < TOPICS; i++) {
      await rt.taxonomy.add("topics", {
        slug: `topic-${i}`,
        labels: { en: `Topic ${i}`, fr: `Thème ${i}`, es: `Tema ${i}` },
      });
    }
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
    // Readers: language x topic gives 51 segments.
    const store = new SubscriberStore(rt.redis, config.prefix);
    const iso = new Date(now - 30 * 86_400_000).toISOString();
    await seedDailyReaders(store, READERS, {
      topics: TOPICS,
      since: iso,
      emailOf: (j) => `reader${j}@bench.example`,
      chunk: 2000,
    });
    const before = await redisMemory(rt);

    // End to end: enqueue the run, Herald's workers (own process) render, batch and send.
    const herald = child("herald", { redisUrl: redisServer.url, config: overrides });
    await herald.next();
    const t0 = performance.now();
    const at = Date.now();
    const job = await rt.queues[QUEUE.digests].add(
      "run",
      { frequency: "daily", at: new Date(at).toISOString(), force: true },
      { jobId: `bench-run-${at}` },
    );
    let summary: DigestSummary | undefined;
    while (!summary) {
      const j = await rt.queues[QUEUE.digests].getJob(job.id!);
      if ((await j?.getState()) === "completed") summary = (j!.returnvalue as DigestSummary[])[0];
      else if ((await j?.getState()) === "failed") throw new Error(`run failed: ${j?.failedReason}`);
      else await sleep(50);
    }
    const tPlanned = performance.now();
    const ledger = new Ledger(rt.redis, config.prefix);
    for (;;) {
      const p = await ledger.progress(summary.edition);
      if (p.sent + p.skipped + p.failed >= summary.readers) break;
      await sleep(50);
    }
    // A run larger than DIGEST_PART_SIZE is planned by part jobs: its segments are the ones stored.
    const segmentIds = summary.parts
      ? await storedSegments(rt, summary.edition)
      : summary.segments.map((x) => x.segment);
    const t1 = performance.now();
    const progress = await ledger.progress(summary.edition);
    herald.send("stop");
    const h = await herald.next<{ startRss: number; peakRss: number; cpuMs: number; renders: number }>();
    await sleep(500);
    const received = await sink.count();
    const after = await redisMemory(rt);
    const e2eSeconds = (t1 - t0) / 1000;
    const e2eRate = progress.sent / e2eSeconds;

    // Ceiling: the same pre-rendered, personalised messages through nodemailer's pool, no queue.
    const ceilingCount = Math.min(READERS, 20_000);
    const ceiling = child("ceiling", {
      redisUrl: redisServer.url,
      config: overrides,
      edition: summary.edition,
      segments: segmentIds,
      count: ceilingCount,
      concurrency,
    });
    const c = await ceiling.next<{ seconds: number; cpuMs: number; peakRss: number }>();
    const ceilingRate = ceilingCount / c.seconds;
    // What the run left in Redis, by key family, largest first.
    const grown = [...after.families.entries()]
      .map(([k, v]) => [k, v - (before.families.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 256 * 1024)
      .sort((a, b) => b[1] - a[1]);

    const rows: [string, string][] = [
      ["readers", String(READERS)],
      ["node flags: Herald / ceiling", `${FLAGS.herald || "(none)"} / ${FLAGS.ceiling || "(none)"}`],
      ["segments", `${segmentIds.length}${summary.parts ? ` (planned by ${summary.parts} part jobs)` : ""}`],
      ["MJML renders", String(h.renders)],
      ["emails sent (accepted)", `${progress.sent} (server received ${received})`],
      ["plan + enqueue (s)", ((tPlanned - t0) / 1000).toFixed(2)],
      ["end to end (s)", e2eSeconds.toFixed(2)],
      ["emails/s end to end", e2eRate.toFixed(0)],
      [`ceiling emails/s (pool, no queue, ${ceilingCount} msgs, ${concurrency} at once)`, ceilingRate.toFixed(0)],
      ["ratio to ceiling", (e2eRate / ceilingRate).toFixed(2)],
      [
        "CPU ms per email: Herald / ceiling",
        `${(h.cpuMs / progress.sent).toFixed(3)} / ${(c.cpuMs / ceilingCount).toFixed(3)}`,
      ],
      ["Herald RSS at start-up (MB)", mb(h.startRss)],
      ["Herald peak RSS (MB)", mb(h.peakRss)],
      ["ceiling peak RSS (MB)", mb(c.peakRss)],
      ["Redis used_memory before (MB)", mb(before.used)],
      ["Redis used_memory after (MB)", mb(after.used)],
      ...grown.map(([k, v]) => [`  of which ${k} (MB)`, mb(v)] as [string, string]),
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
    const result = {
      name: "digest-fanout",
      readers: READERS,
      segments: segmentIds.length,
      mjmlRenders: h.renders,
      sent: progress.sent,
      received,
      seconds: Number(e2eSeconds.toFixed(2)),
      emailsPerSecond: Math.round(e2eRate),
      ceilingEmailsPerSecond: Math.round(ceilingRate),
      ratioToCeiling: Number((e2eRate / ceilingRate).toFixed(2)),
      cpuMsPerEmail: Number((h.cpuMs / progress.sent).toFixed(3)),
      ceilingCpuMsPerEmail: Number((c.cpuMs / ceilingCount).toFixed(3)),
      baseRssMb: Number(mb(h.startRss)),
      peakRssMb: Number(mb(h.peakRss)),
      redisBeforeMb: Number(mb(before.used)),
      redisAfterMb: Number(mb(after.used)),
    };
    process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
  } finally {
    await rt.close();
    sink.stop();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
