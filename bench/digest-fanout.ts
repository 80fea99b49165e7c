// Digest fan-out benchmark: N readers (default 20,000; BENCH_READERS or argv[2]) in ~50
// segments (3 languages x 17 topics), 20 releases, one `digest run daily` through the queue to an
// SMTP server in a separate process. Prints emails/s end to end, MJML renders, peak RSS and
// Redis memory before/after, then the ceiling: nodemailer's pool sending the same pre-rendered
// messages to the same server with no queue. Uses its own throwaway redis-server.
//   npx tsx bench/digest-fanout.ts [readers]
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import nodemailer from "nodemailer";
import { testConfig } from "../src/config/index.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import type { DigestSummary } from "../src/jobs/digests.ts";
import { startWorkers } from "../src/jobs/workers.ts";
import { Ledger } from "../src/mail/ledger.ts";
import { buildMail, messageIdFor } from "../src/mail/message.ts";
import { loadSegment } from "../src/mail/segments.ts";
import { closeMailer, SMTP_POOL_SIZE } from "../src/mail/transport.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import { ReleaseService } from "../src/releases/service.ts";
import { createRuntime } from "../src/runtime.ts";
import { readerLinks } from "../src/subscribers/links.ts";
import type { Language, Subscriber } from "../src/subscribers/model.ts";
import { SubscriberStore, subscriberId } from "../src/subscribers/store.ts";
import { personalise } from "../src/templates/personalise.ts";
import { templateStats } from "../src/templates/stats.ts";

// 100,000 takes about four minutes here; the default keeps a routine run near one minute.
const READERS = Number(process.argv[2] ?? process.env.BENCH_READERS ?? 20_000);
const LANGS: Language[] = ["en", "fr", "es"];
const TOPICS = 17;
const RELEASES = 20;
const SECRET = "bench-secret-key-0123456789abcdef0123456789";
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startSink() {
  const child = fork(path.join(here, "smtp-sink.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "pipe", "inherit", "ipc"] });
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

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-redis-"));
  const redisServer = await startRedisServer({ dir, port: await freePort(), appendonly: false });
  const sink = await startSink();
  const smtpUrl = `smtp://127.0.0.1:${sink.port}`;
  const config = testConfig({ prefix: "bench", smtpUrl, secretKey: SECRET, emailRatePerSecond: 100_000, publicUrl: "https://news.example.org", mailFrom: "News <news@bench.example>" });
  const rt = await createRuntime({ config, redisUrl: redisServer.url });
  const baseRss = process.memoryUsage().rss;
  let peakRss = baseRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await rt.redis.info("memory"))![1]);

  try {
    // 20 releases over the last hours, topic-0 .. topic-16.
    const svc = new ReleaseService(rt);
    const now = Date.now();
    for (let i = 0; i < RELEASES; i++) {
      await svc.publish({
        id: `bench-release-${i}`,
        title: `Bench Release ${i}: Border Officials Trained in Victim Identification`,
        summary: "A three-day course for border officials on identifying and referring victims of trafficking, with partners from four countries.",
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
    for (let i = 0; i < READERS; i += 2000) {
      const items: { next: Subscriber; previous: null }[] = [];
      for (let j = i; j < Math.min(READERS, i + 2000); j++) {
        const email = `reader${j}@bench.example`;
        items.push({
          next: {
            id: subscriberId(email),
            email,
            name: `Reader ${j}`,
            language: LANGS[j % 3]!,
            topics: [`topic-${Math.floor(j / 3) % TOPICS}`],
            regions: [],
            frequency: "daily",
            timezone: "UTC",
            status: "confirmed",
            createdAt: iso,
            updatedAt: iso,
            confirmedAt: iso,
          },
          previous: null,
        });
      }
      await store.saveMany(items);
    }
    const redisBefore = await usedMemory();
    const rendersBefore = templateStats.mjmlRenders;

    // End to end: enqueue the run, workers render, batch and send.
    const workers = startWorkers(rt, [QUEUE.digests, QUEUE.emails]);
    const t0 = performance.now();
    const at = Date.now();
    const job = await rt.queues[QUEUE.digests].add("run", { frequency: "daily", at: new Date(at).toISOString(), force: true }, { jobId: `bench-run-${at}` });
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
    const t1 = performance.now();
    const progress = await ledger.progress(summary.edition);
    const renders = templateStats.mjmlRenders - rendersBefore;
    await workers.close();
    closeMailer(rt);
    await sleep(500);
    const received = await sink.count();
    const redisAfter = await usedMemory();
    const e2eSeconds = (t1 - t0) / 1000;
    const e2eRate = progress.sent / e2eSeconds;

    // Ceiling: the same pre-rendered, personalised messages through nodemailer's pool, no queue.
    const ceilingCount = Math.min(READERS, 20_000);
    const seg = (await loadSegment(rt, { edition: summary.edition, kind: "digest", segment: summary.segments[0]!.segment, subscriberIds: [] }))!;
    const pool = nodemailer.createTransport({ url: smtpUrl, pool: true, maxConnections: SMTP_POOL_SIZE, maxMessages: 10_000 });
    const c0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < ceilingCount) {
          const j = next++;
          const id = `c${j}`;
          const links = readerLinks(config.publicUrl, SECRET, id);
          const body = personalise(seg.message, { name: `Reader ${j}`, language: seg.language, timezone: "UTC", unsubscribeUrl: links.unsubscribe, preferencesUrl: links.preferences });
          const to = { name: `Reader ${j}`, address: `ceiling${j}@bench.example` };
          await pool.sendMail(buildMail({ from: config.mailFrom, to, ...body, messageId: messageIdFor("ceiling", id, "bench.example"), language: seg.language, unsubscribeUrl: links.unsubscribe }, Date.now()));
        }
      }),
    );
    const ceilingRate = ceilingCount / ((performance.now() - c0) / 1000);
    pool.close();
    clearInterval(sampler);

    const rows: [string, string][] = [
      ["readers", String(READERS)],
      ["segments", String(summary.segments.length)],
      ["MJML renders", String(renders)],
      ["emails sent (accepted)", `${progress.sent} (server received ${received})`],
      ["plan + enqueue (s)", ((tPlanned - t0) / 1000).toFixed(2)],
      ["end to end (s)", e2eSeconds.toFixed(2)],
      ["emails/s end to end", e2eRate.toFixed(0)],
      [`ceiling emails/s (pool, no queue, ${ceilingCount} msgs)`, ceilingRate.toFixed(0)],
      ["ratio to ceiling", (e2eRate / ceilingRate).toFixed(2)],
      ["RSS at start-up (MB)", mb(baseRss)],
      ["peak RSS (MB)", mb(peakRss)],
      ["Redis used_memory before (MB)", mb(redisBefore)],
      ["Redis used_memory after (MB)", mb(redisAfter)],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
    const result = {
      name: "digest-fanout",
      readers: READERS,
      segments: summary.segments.length,
      mjmlRenders: renders,
      sent: progress.sent,
      received,
      seconds: Number(e2eSeconds.toFixed(2)),
      emailsPerSecond: Math.round(e2eRate),
      ceilingEmailsPerSecond: Math.round(ceilingRate),
      ratioToCeiling: Number((e2eRate / ceilingRate).toFixed(2)),
      baseRssMb: Number(mb(baseRss)),
      peakRssMb: Number(mb(peakRss)),
      redisBeforeMb: Number(mb(redisBefore)),
      redisAfterMb: Number(mb(redisAfter)),
    };
    process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
  } finally {
    clearInterval(sampler);
    await rt.close();
    sink.stop();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
