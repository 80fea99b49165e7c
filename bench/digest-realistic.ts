// The realistic digest benchmark (the one the README quotes). N readers (default 100,000; argv[2]
// or BENCH_READERS) in en/fr/es, each choosing a random subset of 20 topics and 30 regions of the
// built-in vocabulary (or "all" of either), in 16 time zones, with digest cursors 1 to 7 days
// old; 200 releases over the last week, a fifth of them translated into each of fr and es; digests
// of 1 to 50 items. One seeded RNG (BENCH_SEED), so runs are comparable. Reports:
//   - one `digest run daily` end to end through the queue, Herald's workers in processes of
//     their own (BENCH_PROCESSES, default 1) with no heap flags: segments, plan time, emails/s, CPU ms per email, peak RSS,
//     Redis memory before, at its peak during the run and after (the cursors' share, what the run
//     left by key family, and the growth that is Redis's own: key tables, clients, scripts, and
//     the latency histogram Redis makes for each command on its first use);
//   - every side sends to postfix's smtp-sink when installed (BENCH_NODE_SINK=1: a Node smtp-server);
//   - in the same run, two ceilings for the same messages: nodemailer's SMTP pool with no queue
//     (the run's digests, personalised in advance, sent straight to the same server), and
//     postfix's smtp-source -> smtp-sink with a message of the run's median size (skipped, with
//     how to get it, when postfix's tools are not installed);
//   - CPU per email at digest sizes 1, 10 and 50: a weekly run per size (BENCH_SIZED_READERS
//     readers whose digest has exactly that many items) through the queue, against the pool
//     ceiling for its messages;
//   - render time per segment at 1/10/50 items (first render of a language, and with its
//     releases already compiled), and 1,000 random segments rendered from scratch.
// BENCH_HERALD_FLAGS: node flags for Herald's process only (--cpu-prof, --expose-gc for the live heap).
// BENCH_MAIN_ONLY=1: the end-to-end run only (quick memory or CPU checks while working).
// Shared harness: bench/digest/harness.ts.
//   npx tsx bench/digest-realistic.ts [readers]
import path from "node:path";
import { PROCESSORS } from "../src/jobs/processors.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { digestItems } from "../src/mail/digests.ts";
import { brandOf } from "../src/mail/segments.ts";
import { IN_FLIGHT } from "../src/mail/send-emails.ts";
import type { Release } from "../src/releases/model.ts";
import type { Runtime } from "../src/runtime.ts";
import type { Language } from "../src/i18n/languages.ts";
import type { Subscriber } from "../src/subscribers/model.ts";
import { SubscriberStore } from "../src/subscribers/store.ts";
import { renderDigest } from "../src/templates/messages.ts";
import {
  benchReader,
  ceiling,
  DAY,
  grown,
  HOUR,
  LANGS,
  mb,
  POSTFIX_HINT,
  postfixTools,
  postfixWire,
  redisMemory,
  report,
  rng,
  round,
  runEdition,
  seedRealistic,
  snapshotCursors,
  startBench,
  startHeralds,
  distFresh,
  ZONES,
} from "./digest/harness.ts";

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const kb = (bytes: number) => Math.round(bytes / 1024);
const READERS = Number(process.argv[2] ?? process.env.BENCH_READERS ?? 100_000);
/** Readers per digest-size run (CPU per email at 1, 10 and 50 items). */
const SIZED = Number(process.env.BENCH_SIZED_READERS ?? Math.min(3000, Math.max(300, Math.round(READERS / 10))));
const SEED = Number(process.env.BENCH_SEED ?? 17);
const HERALD_FLAGS = process.env.BENCH_HERALD_FLAGS ?? "";
/** Herald worker processes (each as `herald start --workers-only`): one per core is how it is deployed. */
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 1);
/** BENCH_MAIN_ONLY=1: the end-to-end run only (no ceilings, no runs by digest size), for quick memory or CPU checks. */
const MAIN_ONLY = Boolean(process.env.BENCH_MAIN_ONLY);

const rows: [string, string | number][] = [];
const row = (k: string, v: string | number) => {
  rows.push([k, v]);
  process.stdout.write(`${k}: ${v}\n`);
};
const result: Record<string, unknown> = { name: "digest-realistic", readers: READERS, seed: SEED };
const r = rng(SEED);
const b = await startBench();
try {
  const { rt, config } = b;
  const concurrency = Number(PROCESSORS[QUEUE.emails]!.options!({ config } as Runtime).concurrency ?? 1) * IN_FLIGHT;
  const at = Math.floor(Date.now() / HOUR) * HOUR;
  const { translations } = await seedRealistic(rt, READERS, r, at);
  row("releases (translations)", `200 (${translations})`);
  row("SMTP server (Herald and the pool ceiling)", b.sink);
  result.smtpServer = b.sink;
  const cursorsFile = await snapshotCursors(b);

  // --- End to end: Herald's workers (own process, no heap flags) plan, render, batch and send.
  // As production runs it (compiled dist/) when that is built and current; else the source through tsx.
  const built = !process.env.BENCH_TSX && distFresh();
  const herald = await startHeralds(b, PROCESSES, HERALD_FLAGS, built);
  row(
    "Herald worker processes",
    `${PROCESSES}, ${built ? "node bin/herald.js start --workers-only (dist/)" : "the source through tsx (BENCH_TSX, or dist/ missing or older than src/: npm run build)"}`,
  );
  result.built = built;
  // After Herald is up and has handled the seeded releases' events (feeds, partners): the digest
  // run's own growth.
  const before = await redisMemory(rt);
  result.processes = PROCESSES;
  const run = await runEdition(rt, "daily", at);
  const h = await herald.stats();
  const received = await b.received();
  const after = await redisMemory(rt);
  const sent = run.progress.sent;
  const rate = sent / run.seconds;
  row("emails sent (accepted / server received)", `${sent} / ${received}`);
  row(`planning (s; ${run.summary.parts ?? 1} part(s))`, run.planSeconds.toFixed(2));
  row("end to end (s)", run.seconds.toFixed(2));
  row("emails/s end to end", rate.toFixed(0));
  row("Herald CPU ms per email (digest + email workers)", (h.cpuMs / sent).toFixed(3));
  row(`Herald worker peak RSS (MB, the largest process, ${HERALD_FLAGS || "no heap flags"})`, mb(h.peakRss));
  if (h.peakHeapTotal > 0)
    row(
      "  peak V8 heap reserved / used, peak external (MB, sampled)",
      `${mb(h.peakHeapTotal)} / ${mb(h.peakHeapUsed)}, ${mb(h.peakExternal)}`,
    );
  if (h.heapMb !== undefined) row("  live heap / external after a full GC (MB)", `${h.heapMb} / ${h.externalMb}`);
  row(
    "Redis used_memory before / peak during the run / after (MB)",
    `${mb(before.used)} / ${mb(run.peakUsed)} / ${mb(after.used)}`,
  );
  row("  of which the cursors hash before / after (MB)", `${mb(before.cursors)} / ${mb(after.cursors)}`);
  const allowed = before.used * 1.1 + (after.cursors - before.cursors);
  row(
    "  after vs 1.1 x before + cursors' growth",
    `${mb(after.used)} vs ${mb(allowed)} (${after.used <= allowed ? "within" : "over"})`,
  );
  row(
    "  what the run left, by key family (KB)",
    grown(after.families, before.families, 1024, 64) || "(nothing over 64 KB)",
  );
  const keysGrowth = sum(after.families) - sum(before.families);
  const newCommands = after.commands - before.commands;
  row(
    "  growth: keys / Redis's own structures (key tables, clients, scripts) / the rest (KB)",
    `${kb(keysGrowth)} / ${kb(after.overhead - before.overhead)} / ${kb(after.used - before.used - keysGrowth - (after.overhead - before.overhead))} (of which latency histograms of ${newCommands} command(s) first used in the run, ~26 KB each)`,
  );
  Object.assign(result, {
    sent,
    received,
    planSeconds: round(run.planSeconds),
    seconds: round(run.seconds),
    emailsPerSecond: Math.round(rate),
    cpuMsPerEmail: round(h.cpuMs / sent, 3),
    peakRssMb: mb(h.peakRss),
    redisBeforeMb: mb(before.used),
    redisPeakMb: mb(run.peakUsed),
    redisAfterMb: mb(after.used),
    redisCursorsGrowthMb: mb(after.cursors - before.cursors),
  });

  if (MAIN_ONLY) {
    const last = await herald.stop();
    row("Herald worker RSS at start-up / peak (MB)", `${mb(last.startRss)} / ${mb(last.peakRss)}`);
  } else await ceilingsAndSizes();

  /** The ceilings, CPU per email by digest size and render costs (all but BENCH_MAIN_ONLY). */
  async function ceilingsAndSizes(): Promise<void> {
    // --- Ceilings for the same messages.
    const sampleFile = path.join(b.dir, "sample.eml");
    const count = Math.min(sent, 20_000);
    const c = await ceiling(b, { frequency: "daily", at, cursorsFile, count, concurrency, sampleFile });
    const poolRate = c.sent / c.seconds;
    row("segments (items per segment: min / median / max)", `${c.segments} (${c.items.join(" / ")})`);
    row("message size (bytes): median / mean", `${c.medianBytes} / ${c.meanBytes}`);
    row(`ceiling: nodemailer pool, no queue (${c.sent} msgs, ${concurrency} at once), emails/s`, poolRate.toFixed(0));
    row("ceiling CPU ms per email", (c.cpuMs / c.sent).toFixed(3));
    row(
      "Herald / pool: emails/s, CPU per email",
      `${(rate / poolRate).toFixed(2)}, ${(h.cpuMs / sent / (c.cpuMs / c.sent)).toFixed(2)}`,
    );
    Object.assign(result, {
      segments: c.segments,
      poolEmailsPerSecond: Math.round(poolRate),
      poolCpuMsPerEmail: round(c.cpuMs / c.sent, 3),
      ratioToPool: round(rate / poolRate),
      cpuRatioToPool: round(h.cpuMs / sent / (c.cpuMs / c.sent)),
      medianBytes: c.medianBytes,
    });
    const tools = postfixTools();
    if (tools) {
      const wire = await postfixWire(tools, sampleFile, count, 16);
      row(
        `ceiling: postfix smtp-source -> smtp-sink (${count} msgs of ${c.medianBytes} bytes, 16 sessions), msgs/s`,
        wire.toFixed(0),
      );
      row("Herald / postfix wire", (rate / wire).toFixed(2));
      Object.assign(result, { postfixWirePerSecond: Math.round(wire), ratioToPostfix: round(rate / wire) });
    } else row("ceiling: postfix smtp-source -> smtp-sink", POSTFIX_HINT);

    // --- CPU per email by digest size: one weekly run per size, readers getting exactly n items.
    const store = new SubscriberStore(rt.redis, config.prefix);
    const since = new Date(at - 60 * DAY).toISOString();
    const candidates = await rt.releases.publishedBetween("all", at - 35 * DAY, at + 1, 1000);
    const froms = [...new Set(candidates.map((x) => Date.parse(x.publishedAt)))].sort((a, b) => b - a);
    const everything = { topics: [] as string[], regions: [] as string[] };
    const sized: Record<string, unknown> = {};
    let round_ = 0;
    for (const n of [1, 10, 50]) {
      round_++;
      const runAt = at + round_ * HOUR;
      // Per language: the cursor at which an "all" reader gets exactly n items (50 = the cap).
      const cursorFor = (language: Language) => {
        for (const f of [...froms, at - 35 * DAY])
          if (digestItems({ language, ...everything }, candidates, f - 1).length >= n) return f - 1;
        return at - 35 * DAY;
      };
      const group: Subscriber[] = [];
      const cursors: string[] = [];
      for (let j = 0; j < SIZED; j++) {
        const language = LANGS[j % 3]!;
        const s = benchReader(
          `sized${n}-${j}@bench.example`,
          j,
          { language, ...everything, timezone: ZONES[j % ZONES.length]!, frequency: "weekly" },
          since,
        );
        group.push(s);
        cursors.push(s.id, String(cursorFor(language)));
      }
      await store.saveMany(group.map((s) => ({ next: s, previous: null })));
      await rt.redis.hset(rt.key("digest-cursor"), ...cursors);
      const sizedCursors = await snapshotCursors(b);
      const cpu0 = (await herald.stats()).cpuMs;
      const sr = await runEdition(rt, "weekly", runAt);
      const cpu = (await herald.stats()).cpuMs - cpu0;
      const p = sr.progress;
      const cc = await ceiling(b, {
        frequency: "weekly",
        at: runAt,
        cursorsFile: sizedCursors,
        count: p.sent,
        concurrency,
      });
      // Out of the next size's run: no longer weekly readers.
      const current = (await store.getMany(group.map((s) => s.id))).filter((s): s is Subscriber => s !== null);
      await store.saveMany(
        current.map((s) => ({
          next: { ...s, status: "unsubscribed" as const, updatedAt: new Date().toISOString() },
          previous: s,
        })),
      );
      const ratio = cpu / p.sent / (cc.cpuMs / cc.sent);
      row(
        `digest of ${n} (segments ${cc.segments}, items ${cc.items[0]}-${cc.items[2]}, ${cc.medianBytes} bytes): Herald CPU ms/email, pool CPU ms/email, ratio; emails/s Herald / pool`,
        `${(cpu / p.sent).toFixed(3)}, ${(cc.cpuMs / cc.sent).toFixed(3)}, ${ratio.toFixed(2)}; ${(p.sent / sr.seconds).toFixed(0)} / ${(cc.sent / cc.seconds).toFixed(0)}`,
      );
      sized[`items${n}`] = {
        sent: p.sent,
        cpuMsPerEmail: round(cpu / p.sent, 3),
        poolCpuMsPerEmail: round(cc.cpuMs / cc.sent, 3),
        cpuRatio: round(ratio),
        emailsPerSecond: Math.round(p.sent / sr.seconds),
        poolEmailsPerSecond: Math.round(cc.sent / cc.seconds),
      };
    }
    result.bySize = sized;

    const last = await herald.stop();
    if (last.renders >= 0) row("MJML renders in Herald's worker (whole run)", last.renders);
    row(
      "Herald worker RSS at start-up / peak over the whole benchmark (MB)",
      `${mb(last.startRss)} / ${mb(last.peakRss)}`,
    );
    result.mjmlRenders = last.renders;
    result.peakRssAllMb = mb(last.peakRss);

    // --- Render cost in this process: per segment at 1/10/50 items, and 1,000 segments from scratch.
    const brand = brandOf(config, await rt.taxonomy.current());
    const picks = (language: Language, n: number, salt: number): Release[] => {
      const all = digestItems({ language, ...everything }, candidates, at - 35 * DAY);
      return rng(salt)
        .subset(all, n, n)
        .sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const render: Record<string, unknown> = {};
    for (const n of [1, 10, 50]) {
      const cold: number[] = [];
      const warm: number[] = [];
      for (const [li, language] of LANGS.entries()) {
        let t = performance.now();
        await renderDigest(brand, language, "daily", picks(language, n, 1000 + n * 10 + li));
        cold.push(performance.now() - t);
        for (let k = 0; k < 10; k++) {
          const list = picks(language, n, 1000 + n * 10 + li)
            .reverse()
            .slice(0, n);
          t = performance.now();
          await renderDigest(brand, language, "daily", list);
          warm.push(performance.now() - t);
        }
      }
      row(
        `render per segment, ${n} item(s): first (compiles its releases) / median with releases compiled (ms)`,
        `${median(cold).toFixed(1)} / ${median(warm).toFixed(2)}`,
      );
      render[`items${n}`] = { firstMs: round(median(cold)), compiledMs: round(median(warm)) };
    }
    // 1,000 segments of 1..50 random items (languages mixed): a fresh process's run renders about so.
    const lists = Array.from({ length: 1000 }, (_, i) => ({
      language: LANGS[i % 3]!,
      items: picks(LANGS[i % 3]!, 1 + r.int(50), 5000 + i),
    }));
    const t = performance.now();
    for (const l of lists) await renderDigest(brand, l.language, "daily", l.items);
    const thousand = (performance.now() - t) / 1000;
    row("1,000 segments (1..50 items) rendered (s)", thousand.toFixed(2));
    render.thousandSegmentsSeconds = round(thousand);
    result.render = render;
  }
  report(rows, result);
} finally {
  await b.close();
}
// Node keeps the forked children's IPC handles: exit once the report is out.
process.exit(process.exitCode ?? 0);
