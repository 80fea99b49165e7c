// The digest benchmarks' shared harness: bench/digest-fanout.ts, digest-scale.ts and
// digest-realistic.ts are thin scripts over it. Each measured side runs in a process of its own
// (_process.ts: Herald's workers, or the ceiling), so a peak RSS and a CPU time are that side's
// alone; CPU ms per email holds better than emails/s when other work shares the machine.
//   startBench     a throwaway redis-server, an SMTP sink in its own process, a runtime on them
//   seedUniform    readers in 3 languages x 17 topics (51 segments), 20 releases of the last hours
//   seedRealistic  readers choosing random subsets of 20 topics and 30 regions, 200 releases of a week
//   runEdition     one `digest run` through the queue, waited for until every part is planned,
//                  every batch sent and every planned reader settled
//   ceiling        the same messages through nodemailer's pool with no queue and no Redis (_process.ts)
//   postfixWire    postfix's smtp-source -> smtp-sink with one of those messages
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, testConfig } from "../../src/config/index.ts";
import { QUEUE, QUEUE_NAMES, type QueueName } from "../../src/jobs/queues.ts";
import type { DigestSummary } from "../../src/mail/digests.ts";
import { Ledger } from "../../src/mail/ledger.ts";
import { freePort, startRedisServer } from "../../src/redis/embedded.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import type { Language } from "../../src/i18n/languages.ts";
import type { DigestFrequency, Subscriber } from "../../src/subscribers/model.ts";
import { SubscriberStore, subscriberId } from "../../src/subscribers/store.ts";
import { seedDailyReaders } from "../../test/helpers/readers.ts";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const LANGS: Language[] = ["en", "fr", "es"];
export const ZONES = [
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
const SECRET = "bench-secret-key-0123456789abcdef0123456789";
const here = path.dirname(fileURLToPath(import.meta.url));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const mb = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(1));
export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** mulberry32: small, fast, seeded. */
export function rng(seed: number) {
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
export type Rng = ReturnType<typeof rng>;

export interface Bench {
  rt: Runtime;
  config: Config;
  /** testConfig overrides, handed to the child processes. */
  overrides: Partial<Config>;
  redisUrl: string;
  /** Which SMTP server receives: postfix's smtp-sink (C) when installed, else a Node smtp-server. */
  sink: string;
  /** Messages the SMTP sink received so far. */
  received(): Promise<number>;
  /** A scratch directory, removed with the bench. */
  dir: string;
  close(): Promise<void>;
}

/**
 * The SMTP server every measured side sends to, in a process of its own: postfix's smtp-sink
 * when installed (a C server, as a production MTA is, so its CPU does not crowd the machine the
 * way a JavaScript one does; the same server the wire limit is measured against), else
 * bench/smtp-sink.ts (Node's smtp-server). BENCH_NODE_SINK=1 forces the latter.
 */
async function startSink(): Promise<{ name: string; port: number; received(): Promise<number>; stop(): void }> {
  const tools = process.env.BENCH_NODE_SINK ? null : postfixTools();
  if (tools) {
    const port = await freePort();
    // -c: a running count ("mesg=N") on stdout; smtp-sink runs as root only with a user to switch to.
    const user = process.getuid?.() === 0 ? ["-u", "nobody"] : [];
    const c = spawn(tools.sink, [...user, "-c", `127.0.0.1:${port}`, "1024"], { stdio: ["ignore", "pipe", "inherit"] });
    let count = 0;
    c.stdout!.on("data", (d: Buffer) => {
      const all = [...String(d).matchAll(/mesg=(\d+)/g)];
      if (all.length) count = Number(all[all.length - 1]![1]);
    });
    await sleep(300);
    return {
      name: "postfix smtp-sink (C)",
      port,
      received: async () => {
        await sleep(200);
        return count;
      },
      stop: () => c.kill(),
    };
  }
  const sink = fork(path.join(here, "..", "smtp-sink.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    sink.stdout!.on("data", (d: Buffer) => {
      const m = /PORT (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    sink.once("exit", (code) => reject(new Error(`smtp sink exited (${code})`)));
  });
  return {
    name: "Node smtp-server (bench/smtp-sink.ts)",
    port,
    received: () =>
      new Promise<number>((resolve) => {
        sink.once("message", (m) => resolve((m as { count: number }).count));
        sink.send("count");
      }),
    stop: () => sink.send("stop"),
  };
}

export async function startBench(extra: Partial<Config> = {}): Promise<Bench> {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-redis-"));
  const redisServer = await startRedisServer({ dir, port: await freePort(), appendonly: false });
  const sink = await startSink();
  const overrides: Partial<Config> = {
    prefix: "bench",
    smtpUrl: `smtp://127.0.0.1:${sink.port}`,
    secretKey: SECRET,
    emailRatePerSecond: 100_000,
    publicUrl: "https://news.example.org",
    mailFrom: "News <news@bench.example>",
    ...extra,
  };
  const config = testConfig(overrides);
  const rt = await createRuntime({ config, redisUrl: redisServer.url });
  return {
    rt,
    config,
    overrides,
    redisUrl: redisServer.url,
    dir,
    sink: sink.name,
    received: sink.received,
    async close() {
      await rt.close();
      sink.stop();
      await redisServer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What Herald's process answers: CPU ms since start, peak RSS (bytes), and, on "stop", its MJML renders. */
export interface HeraldStats {
  cpuMs: number;
  peakRss: number;
  startRss: number;
  renders: number;
  /** Sampled every 500 ms: the largest V8 heap (reserved, used) and memory outside it (Buffers). */
  peakHeapTotal: number;
  peakHeapUsed: number;
  peakExternal: number;
  /** With --expose-gc in its flags: the live heap and external memory after a full collection (MB). */
  heapMb?: number;
  externalMb?: number;
}

/** A role of _process.ts in a process of its own; resolves its first message, and answers to ask(). */
export function child(role: "herald" | "ceiling", args: object, flags = "") {
  // Arguments through a file: a run's reader list is longer than a command line may be.
  const file = path.join(mkdtempSync(path.join(tmpdir(), "herald-bench-args-")), "args.json");
  writeFileSync(file, JSON.stringify(args));
  const c: ChildProcess = fork(path.join(here, "_process.ts"), [role, file], {
    execArgv: ["--import", "tsx", ...flags.split(" ").filter(Boolean)],
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

/** Herald's digest and email workers, as `herald start --workers-only` runs them, in a process of their own. */
export async function startHerald(b: Bench, flags = "") {
  const h = child("herald", { redisUrl: b.redisUrl, config: b.overrides }, flags);
  await h.next();
  return {
    stats: () => h.ask<HeraldStats>("stats"),
    stop: () => h.ask<HeraldStats>("stop"),
  };
}

/** Bench overrides (Partial<Config>) as the environment variables `herald start` reads. */
const ENV_OF: Partial<Record<keyof Config, string>> = {
  prefix: "HERALD_PREFIX",
  smtpUrl: "SMTP_URL",
  secretKey: "SECRET_KEY",
  emailRatePerSecond: "EMAIL_RATE_PER_SECOND",
  publicUrl: "PUBLIC_URL",
  mailFrom: "MAIL_FROM",
  digestPartSize: "DIGEST_PART_SIZE",
};

/** CPU ms (user + system) and resident memory (current, peak; bytes) of a process, from /proc. */
function procStats(pid: number): { cpuMs: number; rss: number; peakRss: number } {
  // Fields after the command's ")" (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS, rss: kb("VmRSS"), peakRss: kb("VmHWM") };
}
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** Whether dist/ (npm run build) exists and is newer than every file of src/. */
export function distFresh(): boolean {
  const root = path.join(here, "..", "..");
  const main = path.join(root, "dist", "main.js");
  if (!existsSync(main)) return false;
  const built = statSync(main).mtimeMs;
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? newer(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs > built,
    );
  return !newer(path.join(root, "src"));
}

/**
 * Herald as production runs it: `node bin/herald.js start --workers-only` (the compiled dist/,
 * every queue's workers, the configuration from the environment), its CPU and memory read from
 * /proc (Linux), so nothing of the benchmark runs inside it. The repeating jobs it upserts are
 * removed once it is up: an hourly digest tick during a run would send real digests too.
 */
export async function startHeraldBuilt(b: Bench, flags = "") {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: b.redisUrl, VAR_DIR: b.dir };
  for (const [k, v] of Object.entries(b.overrides)) {
    const name = ENV_OF[k as keyof Config];
    if (!name) throw new Error(`bench override ${k} has no environment variable in ENV_OF`);
    env[name] = String(v);
  }
  const bin = path.join(here, "..", "..", "bin", "herald.js");
  const c = spawn(process.execPath, [...flags.split(" ").filter(Boolean), bin, "start", "--workers-only"], {
    env,
    // Its log (info, as in production) is written, to nowhere; warnings and errors are shown.
    stdio: ["ignore", "ignore", "inherit"],
  });
  const pid = c.pid!;
  const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
  // Up once its workers have registered on the queues.
  for (let i = 0; (await b.rt.queues[QUEUE.emails].getWorkersCount()) === 0; i++) {
    if (c.exitCode !== null || i > 600) throw new Error("herald start --workers-only did not come up");
    await sleep(50);
  }
  // `start` upserts them after its workers are up: wait for both, then remove them (and their next jobs).
  const digests = b.rt.queues[QUEUE.digests];
  for (let i = 0; (await digests.getJobSchedulersCount()) < 2 && i < 200; i++) await sleep(50);
  for (const id of ["digest-hourly", "pending-expiry"]) await digests.removeJobScheduler(id);
  // The seeded releases' events (feeds, alerts, partners) are its work first: measured from after them.
  const others = QUEUE_NAMES.filter((q) => q !== QUEUE.digests && q !== QUEUE.emails);
  const pending = async () => {
    for (const q of others) {
      const n = await b.rt.queues[q].getJobCounts("waiting", "active", "delayed", "prioritized");
      if (Object.values(n).some((x) => x > 0)) return true;
    }
    return false;
  };
  while (await pending()) await sleep(100);
  const first = procStats(pid);
  const stats = (): HeraldStats => {
    const now = procStats(pid);
    return { ...ZERO_HEAP, cpuMs: now.cpuMs - first.cpuMs, peakRss: now.peakRss, startRss: first.rss, renders: -1 };
  };
  return {
    stats: async () => stats(),
    stop: async () => {
      const last = stats();
      c.kill("SIGTERM");
      await exited;
      return last;
    },
  };
}
const ZERO_HEAP = { peakHeapTotal: 0, peakHeapUsed: 0, peakExternal: 0 };

/** `n` Herald processes seen as one: CPU summed, memory figures of the largest, MJML renders summed. */
export async function startHeralds(b: Bench, n: number, flags = "", built = false) {
  const all = await Promise.all(Array.from({ length: n }, () => (built ? startHeraldBuilt : startHerald)(b, flags)));
  const combine = (xs: HeraldStats[]): HeraldStats => ({
    ...xs.reduce((a, x) => (x.peakRss > a.peakRss ? x : a)),
    cpuMs: xs.reduce((t, x) => t + x.cpuMs, 0),
    renders: xs.reduce((t, x) => t + x.renders, 0),
  });
  return {
    stats: async () => combine(await Promise.all(all.map((h) => h.stats()))),
    stop: async () => combine(await Promise.all(all.map((h) => h.stop()))),
  };
}

/** Synthetic topics "topic-0".. are not in the built-in vocabulary: added like ops would (herald taxonomy add). */
async function addTopics(rt: Runtime, n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    await rt.taxonomy.add("topics", {
      slug: `topic-${i}`,
      labels: { en: `Topic ${i}`, fr: `Thème ${i}`, es: `Tema ${i}` },
    });
}

/** 20 releases of the last hours in 17 topics; readers in 3 languages x 17 topics: 51 segments. */
export async function seedUniform(rt: Runtime, readers: number, before?: () => Promise<void>): Promise<void> {
  const TOPICS = 17;
  const RELEASES = 20;
  const svc = new ReleaseService(rt);
  const now = Date.now();
  await addTopics(rt, TOPICS);
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
  await before?.();
  await seedDailyReaders(new SubscriberStore(rt.redis, rt.config.prefix), readers, {
    topics: TOPICS,
    since: new Date(now - 30 * DAY).toISOString(),
    emailOf: (j) => `reader${j}@bench.example`,
    chunk: 2000,
  });
}

export function benchReader(
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

/**
 * 200 releases over the week before `at`, a fifth of them translated into fr and es each, in 1-2
 * of 20 topics and 30 regions of the built-in vocabulary; readers in en/fr/es choosing 1-5 topics
 * (a quarter "all") and 1-4 regions (half "all"), in 16 time zones, cursors 1 to 7 days old.
 */
export async function seedRealistic(
  rt: Runtime,
  readers: number,
  r: Rng,
  at: number,
): Promise<{ translations: number }> {
  const RELEASES = 200;
  const taxonomy = await rt.taxonomy.current();
  const topics = taxonomy.slugs("topics").slice(0, 20);
  const regions = taxonomy.slugs("regions").slice(0, 30);
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
  const store = new SubscriberStore(rt.redis, rt.config.prefix);
  const since = new Date(at - 60 * DAY).toISOString();
  for (let i = 0; i < readers; i += 2000) {
    const items: { next: Subscriber; previous: null }[] = [];
    const cursors: string[] = [];
    for (let j = i; j < Math.min(readers, i + 2000); j++) {
      const s = benchReader(
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
  return { translations };
}

/** The readers' digest cursors now, to a file: the ceiling works out their digests as they were before the run moved them. */
export async function snapshotCursors(b: Bench): Promise<string> {
  const file = path.join(b.dir, `cursors-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(await b.rt.redis.hgetall(b.rt.key("digest-cursor"))));
  return file;
}

export interface EditionRun {
  summary: DigestSummary;
  progress: { total: number; sent: number; skipped: number; failed: number };
  /** From queueing the run to its job's completion (planning, or handing out the parts). */
  planSeconds: number;
  /** From queueing the run to the last reader settled. */
  seconds: number;
  /** Redis used_memory, the most seen while the run went (sampled every 50 ms). */
  peakUsed: number;
}

const usedMemory = async (rt: Runtime) => Number(/used_memory:(\d+)/.exec(await rt.redis.info("memory"))![1]);

/**
 * One `digest run` through the queue, as ops queue it. Done when no part is left to plan, no
 * batch to send, and every planned reader is sent, skipped or failed (a run split into parts
 * plans fewer readers than it hands out: those with nothing new get nothing).
 */
export async function runEdition(rt: Runtime, frequency: DigestFrequency, at: number): Promise<EditionRun> {
  const t0 = performance.now();
  const job = await rt.queues[QUEUE.digests].add(
    "run",
    { frequency, at: new Date(at).toISOString() },
    { jobId: `bench-${frequency}-${at}` },
  );
  let summary: DigestSummary | undefined;
  let peakUsed = 0;
  const sample = async () => {
    peakUsed = Math.max(peakUsed, await usedMemory(rt));
  };
  while (!summary) {
    await sample();
    const state = await job.getState();
    if (state === "completed")
      summary = ((await rt.queues[QUEUE.digests].getJob(job.id!))!.returnvalue as DigestSummary[])[0];
    else if (state === "failed")
      throw new Error(`run failed: ${(await rt.queues[QUEUE.digests].getJob(job.id!))?.failedReason}`);
    else await sleep(50);
  }
  const planSeconds = (performance.now() - t0) / 1000;
  const ledger = new Ledger(rt.redis, rt.config.prefix);
  const busy = async (q: QueueName) =>
    Object.values(await rt.queues[q].getJobCounts("waiting", "active", "delayed", "prioritized")).some((n) => n > 0);
  for (;;) {
    await sample();
    const p = await ledger.progress(summary.edition);
    if (!(await busy(QUEUE.digests)) && !(await busy(QUEUE.emails)) && p.sent + p.skipped + p.failed >= p.total) break;
    await sleep(50);
  }
  return {
    summary,
    progress: await ledger.progress(summary.edition),
    planSeconds,
    seconds: (performance.now() - t0) / 1000,
    peakUsed,
  };
}

export interface RedisMemory {
  used: number;
  cursors: number;
  families: Map<string, number>;
  /** Redis's own structures (MEMORY STATS overhead.total: the key tables, clients, scripts). */
  overhead: number;
  /**
   * Commands Redis has a latency histogram for (INFO latencystats): one of ~26 KB each, made on
   * a command's first use and kept for the server's life (`latency-tracking`, on by default).
   */
  commands: number;
}

/** used_memory, the cursors hash, and bytes by key family (MEMORY USAGE of every key): bench:sub:x -> sub, bench:q:emails:1 -> q:emails. */
export async function redisMemory(rt: Runtime): Promise<RedisMemory> {
  const used = await usedMemory(rt);
  const stats = (await rt.redis.call("MEMORY", "STATS")) as unknown[];
  const overhead = Number(stats[stats.indexOf("overhead.total") + 1]);
  const commands = (await rt.redis.info("latencystats")).split("\n").filter((l) => l.startsWith("latency_")).length;
  const cursors = Number((await rt.redis.memory("USAGE", rt.key("digest-cursor"), "SAMPLES", "0")) ?? 0);
  const families = new Map<string, number>();
  let cursor = "0";
  do {
    const [c, keys] = await rt.redis.scan(cursor, "COUNT", 1000);
    cursor = c;
    const sizes = await Promise.all(keys.map((k) => rt.redis.memory("USAGE", k, "SAMPLES", "0")));
    keys.forEach((k, i) => {
      const parts = k.split(":").slice(1);
      const family = parts[0] === "q" ? parts.slice(0, 2).join(":") : parts[0]!;
      families.set(family, (families.get(family) ?? 0) + Number(sizes[i] ?? 0));
    });
  } while (cursor !== "0");
  return { used, cursors, families, overhead, commands };
}

/** Key families that grew between two readings, per `per` (bytes each), largest first, those of at least `min`. */
export function grown(after: Map<string, number>, before: Map<string, number>, per: number, min = 1): string {
  return [...after.entries()]
    .map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / per] as const)
    .filter(([, v]) => Math.abs(v) >= min)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(", ");
}

export interface CeilingResult {
  sent: number;
  seconds: number;
  cpuMs: number;
  peakRss: number;
  medianBytes: number;
  meanBytes: number;
  /** Segments the ceiling's readers form (worked out like Herald's planning). */
  segments: number;
  /** Items per segment: min, median, max. */
  items: [number, number, number];
}

/**
 * The ceiling for an edition's messages: in a process of its own, the confirmed readers of
 * `frequency` get their digests worked out from `cursorsFile` (taken before the run) and rendered
 * as Herald does, personalised in advance, and `count` of them (each segment's share) are sent
 * straight through nodemailer's pool to the same server, `concurrency` at once. Only the sending
 * is timed. With `sampleFile`, one message of the median size is written there.
 */
export async function ceiling(
  b: Bench,
  o: {
    frequency: DigestFrequency;
    at: number;
    cursorsFile: string;
    count: number;
    concurrency: number;
    sampleFile?: string;
  },
): Promise<CeilingResult> {
  return child("ceiling", { redisUrl: b.redisUrl, config: b.overrides, zones: ZONES, ...o }).next<CeilingResult>();
}

/** Where postfix's test tools are, or null (the benchmark installs nothing). */
export function postfixTools(): { source: string; sink: string } | null {
  for (const dir of ["/usr/sbin", "/usr/bin", "/usr/local/sbin"]) {
    const source = path.join(dir, "smtp-source");
    const sink = path.join(dir, "smtp-sink");
    if (existsSync(source) && existsSync(sink)) return { source, sink };
  }
  return null;
}

export const POSTFIX_HINT =
  "skipped: not installed (Debian/Ubuntu: apt-get install postfix, which brings /usr/sbin/smtp-source and smtp-sink)";

/** smtp-source -> smtp-sink with `file` as every message, `sessions` at once: messages per second. */
export async function postfixWire(
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

/** Prints rows as an aligned table, then the `BENCH {json}` line that `npm run bench` collects. */
export function report(rows: [string, string | number][], result: Record<string, unknown>): void {
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n")}\n`);
  process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
}
