// The realistic digest benchmark (the one the README quotes). N readers (default 100,000;
// argv[2] or BENCH_READERS) in en/fr/es, each choosing a random subset of 20 topics and 30
// regions of the built-in vocabulary (or "all" of either), in 16 time zones, with digest cursors
// 1 to 7 days old; 200 releases over the last week, a quarter of them translated; digests of 1 to
// 50 items. One seeded RNG (BENCH_SEED), so runs are comparable. Uses its own throwaway
// redis-server and an SMTP server in a separate process (smtp-sink.ts). Reports:
//   - segments; render time per segment at 1/10/50 items (first render of a language, and with
//     its releases already compiled), and 1,000 random segments rendered from scratch;
//   - one `digest run daily` end to end through the queue, Herald's workers in a process of
//     their own with no heap flags: plan + render + enqueue time, emails/s, CPU ms per email,
//     peak RSS, Redis memory before/after (and the cursors' share);
//   - in the same run, two ceilings for the same messages: nodemailer's SMTP pool with no queue
//     (the run's segments, personalised in advance, sent straight to the same server), and
//     postfix's smtp-source -> smtp-sink with a message of the run's median size (skipped, with
//     how to get it, when postfix's tools are not installed);
//   - CPU per email at digest sizes 1, 10 and 50: a weekly run per size (readers whose digest
//     has exactly that many items) through the queue, against the pool ceiling for its messages.
//   npx tsx bench/digest-realistic.ts [readers]
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { testConfig } from "../src/config/index.ts";
import { type DigestSummary, digestItems } from "../src/mail/digests.ts";
import { PROCESSORS } from "../src/jobs/processors.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { IN_FLIGHT } from "../src/mail/send-emails.ts";
import { Ledger } from "../src/mail/ledger.ts";
import { brandOf } from "../src/mail/segments.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import type { Release } from "../src/releases/model.ts";
import { ReleaseService } from "../src/releases/service.ts";
import { createRuntime, type Runtime } from "../src/runtime.ts";
import type { Language } from "../src/i18n/languages.ts";
import type { DigestFrequency, Subscriber } from "../src/subscribers/model.ts";
import { SubscriberStore, subscriberId } from "../src/subscribers/store.ts";
import { renderDigest } from "../src/templates/messages.ts";

const READERS = Number(process.argv[2] ?? process.env.BENCH_READERS ?? 100_000);
/** Readers per digest-size run (CPU per email at 1, 10 and 50 items). */
const SIZED = Number(process.env.BENCH_SIZED_READERS ?? Math.min(3000, Math.max(300, Math.round(READERS / 10))));
const SEED = Number(process.env.BENCH_SEED ?? 17);
const RELEASES = 200;
const SECRET = "bench-secret-key-0123456789abcdef0123456789";
const LANGS: Language[] = ["en", "fr", "es"];
const ZONES = [
  "UTC",
  "Europe/London",
  "Europe/Paris",
  "Africa/Nairobi",
  "Asia/Dubai",
  "Asia/Kolkata",
  "Asia/Dhaka",
  "Asia/Bangkok",
  "Asia/Tokyo",
  "Australia/Sydney",
  "Pacific/Auckland",
  "America/Sao_Paulo",
  "America/New_York",
  "America/Chicago",
  "America/Mexico_City",
  "America/Los_Angeles",
];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: small, fast, seeded. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const subset = <T>(xs: T[], min: number, max: number): T[] => {
    const n = min + int(max - min + 1);
    const pool = [...xs];
    const out: T[] = [];
    while (out.length < n && pool.length) out.push(pool.splice(int(pool.length), 1)[0]!);
    return out;
  };
  return { next, int, subset, pick: <T>(xs: T[]) => xs[int(xs.length)]! };
}

function child(role: "herald" | "pool", args: object) {
  // BENCH_HERALD_FLAGS: node flags for Herald's process only, e.g. --cpu-prof to see where its time goes.
  const flags = role === "herald" ? (process.env.BENCH_HERALD_FLAGS ?? "").split(" ").filter(Boolean) : [];
  // Arguments through a file: a run's segment list is longer than a command line may be.
  const file = path.join(mkdtempSync(path.join(tmpdir(), "herald-bench-args-")), "args.json");
  writeFileSync(file, JSON.stringify(args));
  const c: ChildProcess = fork(path.join(here, "_digest-realistic-process.ts"), [role, file], {
    execArgv: ["--import", "tsx", ...flags],
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
  const ask = <T>(m: string) => {
    const p = next<T>();
    c.send(m);
    return p;
  };
  return { next, ask };
}

async function startSink() {
  const c = fork(path.join(here, "smtp-sink.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    c.stdout!.on("data", (d: Buffer) => {
      const m = /PORT (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    c.once("exit", (code) => reject(new Error(`smtp sink exited (${code})`)));
  });
  const count = () =>
    new Promise<number>((resolve) => {
      c.once("message", (m) => resolve((m as { count: number }).count));
      c.send("count");
    });
  return { port, count, stop: () => c.send("stop") };
}

const mb = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(1));
const ms = (x: number) => Number(x.toFixed(2));

async function redisMemory(rt: Runtime): Promise<{ used: number; cursors: number }> {
  const used = Number(/used_memory:(\d+)/.exec(await rt.redis.info("memory"))![1]);
  const cursors = Number((await rt.redis.memory("USAGE", rt.key("digest-cursor"), "SAMPLES", "0")) ?? 0);
  return { used, cursors };
}

/** Where postfix's test tools are, or null (the benchmark installs nothing). */
function postfixTools(): { source: string; sink: string } | null {
  for (const dir of ["/usr/sbin", "/usr/bin", "/usr/local/sbin"]) {
    const source = path.join(dir, "smtp-source");
    const sink = path.join(dir, "smtp-sink");
    if (existsSync(source) && existsSync(sink)) return { source, sink };
  }
  return null;
}

/** smtp-source -> smtp-sink with `file` as every message, `sessions` at once: messages per second. */
async function postfixWire(
  tools: { source: string; sink: string },
  file: string,
  count: number,
  sessions: number,
): Promise<number> {
  const port = await freePort();
  // smtp-sink refuses to run as root without a user to switch to.
  const user = process.getuid?.() === 0 ? ["-u", "nobody"] : [];
  const sink = spawn(tools.sink, [...user, `127.0.0.1:${port}`, "1024"], { stdio: "ignore" });
  try {
    await sleep(300);
    const t0 = performance.now();
    execFileSync(
      tools.source,
      [
        "-d",
        "-s",
        String(sessions),
        "-m",
        String(count),
        "-F",
        file,
        "-f",
        "news@bench.example",
        "-t",
        "reader@bench.example",
        `127.0.0.1:${port}`,
      ],
      { stdio: "ignore" },
    );
    return count / ((performance.now() - t0) / 1000);
  } finally {
    sink.kill();
  }
}

async function waitRun(rt: Runtime, frequency: DigestFrequency, at: number): Promise<DigestSummary> {
  const job = await rt.queues[QUEUE.digests].add(
    "run",
    { frequency, at: new Date(at).toISOString(), force: true },
    { jobId: `bench-${frequency}-${at}` },
  );
  for (;;) {
    const j = await rt.queues[QUEUE.digests].getJob(job.id!);
    const state = await j?.getState();
    if (state === "completed") return (j!.returnvalue as DigestSummary[])[0]!;
    if (state === "failed") throw new Error(`run failed: ${j?.failedReason}`);
    await sleep(50);
  }
}

async function waitSent(rt: Runtime, edition: string, readers: number) {
  const ledger = new Ledger(rt.redis, rt.config.prefix);
  for (;;) {
    const p = await ledger.progress(edition);
    if (p.sent + p.skipped + p.failed >= readers) return p;
    await sleep(50);
  }
}

function subscriber(
  email: string,
  j: number,
  o: Pick<Subscriber, "language" | "topics" | "regions" | "timezone" | "frequency">,
  since: string,
): Subscriber {
  return {
    id: subscriberId(email),
    email,
    name: `Reader ${j}`,
    ...o,
    status: "confirmed",
    createdAt: since,
    updatedAt: since,
    confirmedAt: since,
  };
}

async function main() {
  const r = rng(SEED);
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
  const concurrency = Number(PROCESSORS[QUEUE.emails]!.options!({ config } as Runtime).concurrency ?? 1) * IN_FLIGHT;
  const out: [string, string | number][] = [];
  const row = (k: string, v: string | number) => {
    out.push([k, v]);
    process.stdout.write(`${k}: ${v}\n`);
  };
  const result: Record<string, unknown> = { name: "digest-realistic", readers: READERS, seed: SEED };
  let herald: ReturnType<typeof child> | undefined;

  try {
    // --- Releases: 200 over the last week, a quarter translated (fr and/or es), from the vocabulary.
    const taxonomy = await rt.taxonomy.current();
    const topics = taxonomy.slugs("topics").slice(0, 20);
    const regions = taxonomy.slugs("regions").slice(0, 30);
    const at = Math.floor(Date.now() / HOUR) * HOUR;
    const svc = new ReleaseService(rt);
    const times = Array.from({ length: RELEASES }, () => at - 1000 - Math.floor(r.next() * 7 * DAY)).sort(
      (a, b) => a - b,
    );
    let translations = 0;
    for (let i = 0; i < RELEASES; i++) {
      const base = {
        title: `Release ${i}: ${r.pick(["Border officials trained in victim identification", "Emergency shelter reaches displaced families", "New data on labour migration corridors", "Floods: rapid needs assessment published"])}`,
        summary:
          r.next() < 0.8
            ? "A three-day course for border officials on identifying and referring victims of trafficking, with partners from four countries."
            : undefined,
        body: "<p>IOM this week trained forty border officials.</p>",
        dateline: r.next() < 0.7 ? r.pick(["Djibouti", "Nairobi", "Geneva", "Dhaka", "Bogotá"]) : undefined,
        publishedAt: new Date(times[i]!).toISOString(),
        topics: r.subset(topics, 1, 2),
        regions: r.subset(regions, 1, 2),
        url: `https://www.iom.example/news/bench-${i}`,
      };
      await svc.publish({ ...base, id: `bench-release-${i}` });
      for (const lang of ["fr", "es"] as const) {
        if (r.next() < 0.2) {
          const t = Math.min(at - 500, times[i]! + Math.floor(r.next() * 6 * HOUR));
          await svc.publish({
            ...base,
            id: `bench-release-${i}-${lang}`,
            language: lang,
            translationOf: `bench-release-${i}`,
            title: `${lang === "fr" ? "Communiqué" : "Comunicado"} ${i} : ${base.title}`,
            publishedAt: new Date(t).toISOString(),
          });
          translations++;
        }
      }
    }
    row("releases (translations)", `${RELEASES} (${translations})`);

    // --- Readers: random subsets ("all" = empty) of topics and regions, zones, cursors 1-7 days old.
    const store = new SubscriberStore(rt.redis, config.prefix);
    const since = new Date(at - 60 * DAY).toISOString();
    for (let i = 0; i < READERS; i += 2000) {
      const items: { next: Subscriber; previous: null }[] = [];
      const cursors: string[] = [];
      for (let j = i; j < Math.min(READERS, i + 2000); j++) {
        const s = subscriber(
          `reader${j}@bench.example`,
          j,
          {
            language: LANGS[r.int(3)]!,
            topics: r.next() < 0.25 ? [] : r.subset(topics, 1, 5),
            regions: r.next() < 0.5 ? [] : r.subset(regions, 1, 4),
            timezone: r.pick(ZONES),
            frequency: "daily",
          },
          since,
        );
        items.push({ next: s, previous: null });
        cursors.push(s.id, String(at - DAY - Math.floor(r.next() * 6 * 24) * HOUR));
      }
      await store.saveMany(items);
      await rt.redis.hset(rt.key("digest-cursor"), ...cursors);
    }
    const before = await redisMemory(rt);

    // --- End to end: Herald's workers (own process, no heap flags) plan, render, batch and send.
    herald = child("herald", { redisUrl: redisServer.url, config: overrides });
    await herald.next();
    const t0 = performance.now();
    const summary = await waitRun(rt, "daily", at);
    const tPlanned = performance.now();
    const progress = await waitSent(rt, summary.edition, summary.readers);
    const t1 = performance.now();
    const hMain = await herald.ask<{ cpuMs: number; peakRss: number; heapMb?: number; externalMb?: number }>("cpu");
    await sleep(300);
    const received = await sink.count();
    const after = await redisMemory(rt);
    const e2eSeconds = (t1 - t0) / 1000;
    const e2eRate = progress.sent / e2eSeconds;
    const sizes = summary.segments.map((s) => s.releases);
    const bySize = [1, 10, 50].map((n) => sizes.filter((x) => x === n).length);
    row(
      "segments (of 1 / 10 / 50 items)",
      `${summary.segments.length} (${bySize.join(" / ")}); items per segment: min ${Math.min(...sizes)}, median ${sizes.sort((a, b) => a - b)[Math.floor(sizes.length / 2)]}, max ${Math.max(...sizes)}`,
    );
    row("emails sent (accepted / server received)", `${progress.sent} / ${received}`);
    row("plan + render + enqueue (s)", ((tPlanned - t0) / 1000).toFixed(2));
    row("end to end (s)", e2eSeconds.toFixed(2));
    row("emails/s end to end", e2eRate.toFixed(0));
    row("Herald CPU ms per email (digest + email workers)", (hMain.cpuMs / progress.sent).toFixed(3));
    row("Herald worker peak RSS (MB, no heap flags)", mb(hMain.peakRss));
    if (hMain.heapMb !== undefined)
      row(
        "  live heap / external after a full GC (MB; BENCH_HERALD_FLAGS=--expose-gc)",
        `${hMain.heapMb} / ${hMain.externalMb}`,
      );
    row("Redis used_memory before / after (MB)", `${mb(before.used)} / ${mb(after.used)}`);
    row("  of which the cursors hash before / after (MB)", `${mb(before.cursors)} / ${mb(after.cursors)}`);
    const allowed = before.used * 1.1 + (after.cursors - before.cursors);
    row(
      "  after vs 1.1 x before + cursors' growth",
      `${mb(after.used)} vs ${mb(allowed)} (${after.used <= allowed ? "within" : "over"})`,
    );
    Object.assign(result, {
      segments: summary.segments.length,
      sent: progress.sent,
      received,
      planSeconds: ms((tPlanned - t0) / 1000),
      seconds: ms(e2eSeconds),
      emailsPerSecond: Math.round(e2eRate),
      cpuMsPerEmail: Number((hMain.cpuMs / progress.sent).toFixed(3)),
      peakRssMb: mb(hMain.peakRss),
      redisBeforeMb: mb(before.used),
      redisAfterMb: mb(after.used),
      redisCursorsGrowthMb: mb(after.cursors - before.cursors),
    });

    // --- Ceilings for the same messages.
    const sampleFile = path.join(dir, "sample.eml");
    const ceilingCount = Math.min(progress.sent, 20_000);
    const pool = child("pool", {
      redisUrl: redisServer.url,
      config: overrides,
      edition: summary.edition,
      segments: summary.segments.map((s) => ({ segment: s.segment, readers: s.readers })),
      count: ceilingCount,
      concurrency,
      zones: ZONES,
      sampleFile,
    });
    const c = await pool.next<{
      sent: number;
      seconds: number;
      cpuMs: number;
      medianBytes: number;
      meanBytes: number;
    }>();
    const poolRate = c.sent / c.seconds;
    row(`message size (bytes): median / mean`, `${c.medianBytes} / ${c.meanBytes}`);
    row(`ceiling: nodemailer pool, no queue (${c.sent} msgs, ${concurrency} at once), emails/s`, poolRate.toFixed(0));
    row("ceiling CPU ms per email", (c.cpuMs / c.sent).toFixed(3));
    row(
      "Herald / pool: emails/s, CPU per email",
      `${(e2eRate / poolRate).toFixed(2)}, ${(hMain.cpuMs / progress.sent / (c.cpuMs / c.sent)).toFixed(2)}`,
    );
    Object.assign(result, {
      poolEmailsPerSecond: Math.round(poolRate),
      poolCpuMsPerEmail: Number((c.cpuMs / c.sent).toFixed(3)),
      ratioToPool: ms(e2eRate / poolRate),
      cpuRatioToPool: ms(hMain.cpuMs / progress.sent / (c.cpuMs / c.sent)),
      medianBytes: c.medianBytes,
    });
    const tools = postfixTools();
    if (tools) {
      const wire = await postfixWire(tools, sampleFile, ceilingCount, 16);
      row(
        `ceiling: postfix smtp-source -> smtp-sink (${ceilingCount} msgs of ${c.medianBytes} bytes, 16 sessions), msgs/s`,
        wire.toFixed(0),
      );
      row("Herald / postfix wire", (e2eRate / wire).toFixed(2));
      Object.assign(result, { postfixWirePerSecond: Math.round(wire), ratioToPostfix: ms(e2eRate / wire) });
    } else {
      row(
        "ceiling: postfix smtp-source -> smtp-sink",
        "skipped: not installed (Debian/Ubuntu: apt-get install postfix, which brings /usr/sbin/smtp-source and smtp-sink)",
      );
    }

    // --- CPU per email by digest size: one weekly run per size, readers getting exactly n items.
    const candidates = await rt.releases.publishedBetween("all", at - 35 * DAY, at + 1, 1000);
    const froms = [...new Set(candidates.map((x) => Date.parse(x.publishedAt)))].sort((a, b) => b - a);
    const everything = { topics: [] as string[], regions: [] as string[] };
    const sized: Record<string, unknown> = {};
    let round = 0;
    for (const n of [1, 10, 50]) {
      round++;
      const runAt = at + round * HOUR;
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
        const s = subscriber(
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
      const cpu0 = (await herald.ask<{ cpuMs: number }>("cpu")).cpuMs;
      const s0 = performance.now();
      const sum = await waitRun(rt, "weekly", runAt);
      const p = await waitSent(rt, sum.edition, sum.readers);
      const secs = (performance.now() - s0) / 1000;
      const cpu = (await herald.ask<{ cpuMs: number }>("cpu")).cpuMs - cpu0;
      // Out of the next size's run: no longer weekly readers.
      const current = (await store.getMany(group.map((s) => s.id))).filter((s): s is Subscriber => s !== null);
      await store.saveMany(
        current.map((s) => ({
          next: { ...s, status: "unsubscribed" as const, updatedAt: new Date().toISOString() },
          previous: s,
        })),
      );
      const cs = child("pool", {
        redisUrl: redisServer.url,
        config: overrides,
        edition: sum.edition,
        segments: sum.segments.map((x) => ({ segment: x.segment, readers: x.readers })),
        count: p.sent,
        concurrency,
        zones: ZONES,
      });
      const cc = await cs.next<{ sent: number; seconds: number; cpuMs: number; medianBytes: number }>();
      const items = [...new Set(sum.segments.map((x) => x.releases))].join("/");
      const ratio = cpu / p.sent / (cc.cpuMs / cc.sent);
      row(
        `digest of ${n} (segments ${sum.segments.length}, items ${items}, ${cc.medianBytes} bytes): Herald CPU ms/email, pool CPU ms/email, ratio; emails/s Herald / pool`,
        `${(cpu / p.sent).toFixed(3)}, ${(cc.cpuMs / cc.sent).toFixed(3)}, ${ratio.toFixed(2)}; ${(p.sent / secs).toFixed(0)} / ${(cc.sent / cc.seconds).toFixed(0)}`,
      );
      sized[`items${n}`] = {
        sent: p.sent,
        cpuMsPerEmail: Number((cpu / p.sent).toFixed(3)),
        poolCpuMsPerEmail: Number((cc.cpuMs / cc.sent).toFixed(3)),
        cpuRatio: ms(ratio),
        emailsPerSecond: Math.round(p.sent / secs),
        poolEmailsPerSecond: Math.round(cc.sent / cc.seconds),
      };
    }
    result.bySize = sized;

    const h = await herald.ask<{ startRss: number; peakRss: number; cpuMs: number; renders: number }>("stop");
    herald = undefined;
    row("MJML renders in Herald's worker (whole run)", h.renders);
    row("Herald worker RSS at start-up / peak over the whole benchmark (MB)", `${mb(h.startRss)} / ${mb(h.peakRss)}`);
    result.mjmlRenders = h.renders;
    result.peakRssAllMb = mb(h.peakRss);

    // --- Render cost in this process: per segment at 1/10/50 items, and 1,000 segments from scratch.
    const brand = brandOf(config, taxonomy);
    const picks = (language: Language, n: number, salt: number): Release[] => {
      const all = digestItems({ language, ...everything }, candidates, at - 35 * DAY);
      const rr = rng(salt);
      return rr.subset(all, n, n).sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
    };
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
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      row(
        `render per segment, ${n} item(s): first (compiles its releases) / median with releases compiled (ms)`,
        `${median(cold).toFixed(1)} / ${median(warm).toFixed(2)}`,
      );
      render[`items${n}`] = { firstMs: ms(median(cold)), compiledMs: ms(median(warm)) };
    }
    // 1,000 segments of 1..50 random items (languages mixed): a fresh process's run renders about so.
    const segs = Array.from({ length: 1000 }, (_, i) => ({
      language: LANGS[i % 3]!,
      n: 1 + r.int(50),
      salt: 5000 + i,
    }));
    const lists = segs.map((s) => ({ language: s.language, items: picks(s.language, s.n, s.salt) }));
    const t = performance.now();
    for (const l of lists) await renderDigest(brand, l.language, "daily", l.items);
    const thousand = (performance.now() - t) / 1000;
    row("1,000 segments (1..50 items) rendered (s)", thousand.toFixed(2));
    render.thousandSegmentsSeconds = ms(thousand);
    result.render = render;

    const w = Math.max(...out.map(([k]) => k.length));
    process.stdout.write(`\n${out.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n")}\n`);
    process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
  } finally {
    if (herald) await herald.ask("stop").catch(() => undefined);
    await rt.close();
    sink.stop();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
// Node keeps the forked children's IPC handles: exit once the report is out.
process.exit(process.exitCode ?? 0);
