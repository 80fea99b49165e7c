// Feeds benchmark (prints figures; not a test). Run: npx tsx bench/feeds.ts
//  1. 200 publishes through the HTTP API at ~20/s, with the real workers: publish -> visible in
//     GET /feeds/atom.xml latency (p50/p95), and how many rebuilds the global feed took.
//  2. GET /feeds/atom.xml throughput with autocannon, 200 and 304 answers, against the same bytes
//     served by a bare Node http server (the ceiling), in the same run, interleaved, the median
//     of BENCH_ROUNDS (3) loads of BENCH_SECONDS (3) each; servers and load generator on
//     separate cores when there are two (BENCH_PIN=0: not pinned).
// Uses its own throwaway redis-server on a free port: it never touches 127.0.0.1:6379.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { testConfig } from "../src/config/index.ts";
import { buildApp } from "../src/http/app.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { startWorkers } from "../src/jobs/workers.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import { createRuntime } from "../src/runtime.ts";

const PUBLISHES = 200;
const PUBLISH_INTERVAL_MS = 50;
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const LOAD_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
const TOKEN = "bench-token-0123456789abcdef";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : Number.NaN;
};

const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-redis-"));
const redis = await startRedisServer({ dir, port: await freePort(), appendonly: false });
const httpPort = await freePort();
const base = `http://127.0.0.1:${httpPort}`;
const config = testConfig({ prefix: "bench-feeds", publicUrl: base, logLevel: "silent" });
const rt = await createRuntime({ config, redisUrl: redis.url });
const workers = startWorkers(rt, ["release-events", "feeds"]);
const app = await buildApp(rt, { apiToken: TOKEN });
await app.listen({ host: "127.0.0.1", port: httpPort });

try {
  // 1. publish -> visible
  const publishedAt = new Map<string, number>();
  const visibleAt = new Map<string, number>();
  let watching = true;
  const watcher = (async () => {
    let etag = "";
    while (watching) {
      const res = await fetch(`${base}/feeds/atom.xml`, { headers: etag ? { "if-none-match": etag } : {} });
      const now = performance.now();
      if (res.status === 200) {
        etag = res.headers.get("etag") ?? "";
        const body = await res.text();
        for (const m of body.matchAll(/<id>[^<]*\/releases\/(bench-\d+)<\/id>/g))
          if (!visibleAt.has(m[1]!)) visibleAt.set(m[1]!, now);
      } else {
        await res.arrayBuffer();
      }
      await sleep(5);
    }
  })();
  const topics = ["counter-trafficking", "health", "migration-data", "shelter", "climate-and-migration"];
  const regions = ["djibouti", "yemen", "ethiopia", "somalia"];
  const started = performance.now();
  for (let i = 0; i < PUBLISHES; i++) {
    const id = `bench-${i}`;
    const release = {
      id,
      title: `Benchmark release ${i}: border officials trained in victim identification`,
      summary: "A three-day course for border officials on identifying and referring victims of trafficking.",
      body: `<p>IOM this week trained forty border officials (${i}).</p>${"<p>The course covered identification, referral and protection of victims of trafficking.</p>".repeat(8)}`,
      dateline: "Djibouti",
      topics: [topics[i % topics.length]],
      regions: [regions[i % regions.length]],
      contacts: [{ name: "Amina Idriss", office: "IOM Djibouti", email: "aidriss@example.org" }],
    };
    const t0 = performance.now();
    const res = await fetch(`${base}/api/releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(release),
    });
    if (res.status !== 202) throw new Error(`publish ${id}: ${res.status} ${await res.text()}`);
    publishedAt.set(id, t0);
    const next = started + (i + 1) * PUBLISH_INTERVAL_MS;
    await sleep(Math.max(0, next - performance.now()));
  }
  const publishSeconds = (performance.now() - started) / 1000;
  const deadline = performance.now() + 10_000;
  while (visibleAt.size < PUBLISHES && performance.now() < deadline) await sleep(20);
  watching = false;
  await watcher;
  const latencies = [...publishedAt].filter(([id]) => visibleAt.has(id)).map(([id, t0]) => visibleAt.get(id)! - t0);
  const completed = await rt.queues[QUEUE.feeds].getJobs(["completed"], 0, 10_000);
  const rebuildsAll = completed.filter((j) => j.name === "rebuild" && j.data.feed === "all").length;
  const rebuildsTotal = completed.filter((j) => j.name === "rebuild").length;
  await workers.close();

  // 2. throughput: Herald vs a bare Node server sending the same bytes: the same headers
  //    (validators, Cache-Control, Vary, nosniff, content type and length) and the same
  //    If-None-Match / If-Modified-Since answers.
  // The plain body and its tag (fetch would otherwise ask for, and decode, a compressed coding).
  const sample = await fetch(`${base}/feeds/atom.xml`, { headers: { "accept-encoding": "identity" } });
  const body = Buffer.from(await sample.arrayBuffer());
  const etag = sample.headers.get("etag")!;
  const lastModified = sample.headers.get("last-modified")!;
  const validators = {
    etag,
    "last-modified": lastModified,
    "cache-control": sample.headers.get("cache-control")!,
    vary: sample.headers.get("vary")!,
    "x-content-type-options": "nosniff",
  };
  const okHeaders = {
    ...validators,
    "content-type": sample.headers.get("content-type")!,
    "content-length": String(body.length),
  };
  const staticPort = await freePort();
  const staticServer = http.createServer((req, res) => {
    const inm = req.headers["if-none-match"];
    const ims = req.headers["if-modified-since"];
    if (inm !== undefined ? inm === etag : ims !== undefined && Date.parse(ims) >= Date.parse(lastModified)) {
      res.writeHead(304, validators);
      return res.end();
    }
    res.writeHead(200, okHeaders);
    res.end(body);
  });
  staticServer.keepAliveTimeout = 72_000; // as Herald's (Fastify's default)
  await new Promise<void>((r) => staticServer.listen(staticPort, "127.0.0.1", r));

  const run = promisify(execFile);
  // With two cores or more, the servers (this process) run on core 0 and the load generator on
  // core 1: otherwise they take turns on the same cores and the ceiling swings from run to run
  // with the scheduler (21k to 39k req/s were seen). BENCH_PIN=0 leaves placement to the OS.
  const pinned =
    process.env.BENCH_PIN !== "0" &&
    availableParallelism() >= 2 &&
    (await run("taskset", ["-a", "-p", "-c", "0", String(process.pid)]).then(
      () => true,
      () => false,
    ));
  const autocannonBin = path.resolve("node_modules/autocannon/autocannon.js");
  async function load(url: string, headers: Record<string, string> = {}) {
    const args = [autocannonBin, "-j", "-c", String(CONNECTIONS), "-d", String(LOAD_SECONDS)];
    for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}=${v}`);
    const [cmd, cmdArgs] = pinned
      ? ["taskset", ["-c", "1", process.execPath, ...args, url]]
      : [process.execPath, [...args, url]];
    // Both servers live in this process and only one is loaded at a time, so this process's CPU
    // time during a load is that server's: per answer, it varies less than req/s on a shared machine.
    const cpu0 = process.cpuUsage();
    const { stdout } = await run(cmd, cmdArgs, { maxBuffer: 16 * 1024 * 1024 });
    const cpu = process.cpuUsage(cpu0);
    const r = JSON.parse(stdout);
    return {
      rps: Math.round(r.requests.average as number),
      p99ms: r.latency.p99 as number,
      errors: (r.errors as number) + (r.timeouts as number),
      cpuUsPerAnswer: Number(((cpu.user + cpu.system) / Math.max(1, r.requests.total as number)).toFixed(1)),
    };
  }
  // Interleaved rounds, the median of each: a burst of someone else's work during one load
  // should not decide the ratio, either way.
  type Load = Awaited<ReturnType<typeof load>>;
  const rounds: Record<"h200" | "s200" | "h304" | "s304", Load[]> = { h200: [], s200: [], h304: [], s304: [] };
  for (let round = 0; round < LOAD_ROUNDS; round++) {
    rounds.h200.push(await load(`${base}/feeds/atom.xml`));
    rounds.s200.push(await load(`http://127.0.0.1:${staticPort}/feeds/atom.xml`));
    rounds.h304.push(await load(`${base}/feeds/atom.xml`, { "if-none-match": etag }));
    rounds.s304.push(await load(`http://127.0.0.1:${staticPort}/feeds/atom.xml`, { "if-none-match": etag }));
  }
  const median = (xs: Load[]) => [...xs].sort((a, b) => a.rps - b.rps)[Math.floor(xs.length / 2)]!;
  const [h200, s200, h304, s304] = [median(rounds.h200), median(rounds.s200), median(rounds.h304), median(rounds.s304)];
  const spread = (xs: Load[]) => `${Math.min(...xs.map((x) => x.rps))}-${Math.max(...xs.map((x) => x.rps))}`;
  await new Promise((r) => staticServer.close(r));

  const figures = {
    publishes: PUBLISHES,
    visible: latencies.length,
    publish_to_visible_p50_ms: Math.round(pct(latencies, 50)),
    publish_to_visible_p95_ms: Math.round(pct(latencies, 95)),
    publish_to_visible_max_ms: Math.round(pct(latencies, 100)),
    publish_seconds: Number(publishSeconds.toFixed(1)),
    rebuilds_global_feed: rebuildsAll,
    rebuilds_all_feeds: rebuildsTotal,
    atom_body_bytes: body.length,
    herald_200_rps: h200.rps,
    herald_304_rps: h304.rps,
    static_200_rps: s200.rps,
    static_304_rps: s304.rps,
    ratio_200: Number((h200.rps / s200.rps).toFixed(2)),
    ratio_304: Number((h304.rps / s304.rps).toFixed(2)),
    herald_304_cpu_us: h304.cpuUsPerAnswer,
    static_304_cpu_us: s304.cpuUsPerAnswer,
    herald_200_p99_ms: h200.p99ms,
    herald_304_p99_ms: h304.p99ms,
    load_errors: h200.errors + h304.errors + s200.errors + s304.errors,
    connections: CONNECTIONS,
    seconds_per_load: LOAD_SECONDS,
    load_rounds: LOAD_ROUNDS,
    herald_304_rps_rounds: rounds.h304.map((x) => x.rps),
    static_304_rps_rounds: rounds.s304.map((x) => x.rps),
    cores_pinned: pinned,
  };
  const rows: [string, string, string][] = [
    [
      "publish -> visible p50 / p95 / max",
      `${figures.publish_to_visible_p50_ms} / ${figures.publish_to_visible_p95_ms} / ${figures.publish_to_visible_max_ms} ms`,
      "goal p95 <= 1000 ms",
    ],
    ["releases seen in the feed", `${figures.visible} of ${PUBLISHES}`, ""],
    [
      "rebuilds of the global feed",
      String(rebuildsAll),
      `${PUBLISHES} publishes over ${publishSeconds.toFixed(1)} s (windows of 250 ms)`,
    ],
    [
      "GET atom.xml 200 (Herald / static)",
      `${h200.rps} / ${s200.rps} req/s`,
      `ratio ${figures.ratio_200}, body ${body.length} B`,
    ],
    [
      "GET atom.xml 304 (Herald / static)",
      `${h304.rps} / ${s304.rps} req/s`,
      `ratio ${figures.ratio_304}, goal >= 0.7`,
    ],
    ["  304 rounds (Herald; static)", `${spread(rounds.h304)}; ${spread(rounds.s304)} req/s`, ""],
    [
      "  server CPU per 304 (Herald / static)",
      `${h304.cpuUsPerAnswer} / ${s304.cpuUsPerAnswer} us`,
      "user + system, this process, during the median load",
    ],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  process.stdout.write(
    `\nHerald feeds benchmark (${CONNECTIONS} connections, median of ${LOAD_ROUNDS} interleaved ${LOAD_SECONDS} s loads; ${pinned ? "servers on core 0, load generator on core 1" : "cores not pinned"})\n`,
  );
  for (const [a, b, c] of rows) process.stdout.write(`  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}\n`);
  process.stdout.write(`BENCH ${JSON.stringify({ name: "feeds", ...figures })}\n`);
} finally {
  await app.close();
  await workers.close();
  await rt.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
