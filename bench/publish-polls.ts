// Feed polls while large releases are published (prints figures; not a test).
// Run: npx tsx bench/publish-polls.ts [publishes]
//  A. PUBLISHES releases with a 0.9 MB body (small paragraphs, the costliest shape per byte)
//     through POST /api/releases, two at a time, while 4 keep-alive clients poll
//     GET /feeds/atom.xml: poll latency p50 / p99 / max. Bodies are rendered on the worker pool.
//  B. The same bodies rendered on the main thread (what publishing cost before the pool), with
//     the same polling: the latency a poll would see.
// Uses its own throwaway redis-server on a free port: it never touches 127.0.0.1:6379.
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { testConfig } from "../src/config/index.ts";
import { buildFeed } from "../src/feeds/build.ts";
import { buildApp } from "../src/http/app.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import { renderBody } from "../src/releases/sanitize.ts";
import { ReleaseService } from "../src/releases/service.ts";
import { createRuntime } from "../src/runtime.ts";

const PUBLISHES = Number(process.argv[2] ?? 6);
const POLLERS = 4;
const TOKEN = "bench-token-0123456789abcdef";

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : Number.NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const body = (i: number) => `${`<p>${"a <b>b</b> ".repeat(10)}</p>\n`.repeat(Math.floor(900_000 / 118))}<p>${i}</p>`;

function request(port: number, method: string, p: string, agent: http.Agent, payload?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path: p,
        agent,
        headers: payload
          ? {
              authorization: `Bearer ${TOKEN}`,
              "content-type": "application/json",
              "content-length": Buffer.byteLength(payload),
            }
          : {},
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-redis-"));
const redis = await startRedisServer({ dir, port: await freePort(), appendonly: false });
const config = testConfig({ prefix: "bench-publish-polls", logLevel: "silent" });
const rt = await createRuntime({ config, redisUrl: redis.url });
const app = await buildApp(rt, { apiToken: TOKEN });
await app.listen({ host: "127.0.0.1", port: 0 });
const port = (app.server.address() as { port: number }).port;

/** Polls with POLLERS clients until `work` settles; returns every poll's latency in ms. */
async function pollDuring(work: () => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  let running = true;
  const pollers = Array.from({ length: POLLERS }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (running) {
      const t = performance.now();
      const status = await request(port, "GET", "/feeds/atom.xml", agent);
      if (status !== 200) throw new Error(`poll answered ${status}`);
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 2));
    }
    agent.destroy();
  });
  await work();
  running = false;
  await Promise.all(pollers);
  return latencies;
}

try {
  await new ReleaseService(rt).publish({
    title: "Polled",
    body: "<p>polled</p>",
    language: "en",
    topics: [],
    regions: [],
    contacts: [],
  });
  await buildFeed(rt, "all");
  const warm = new http.Agent({ keepAlive: true });
  for (let i = 0; i < 20; i++) await request(port, "GET", "/feeds/atom.xml", warm);
  warm.destroy();

  const idle = await pollDuring(() => new Promise((r) => setTimeout(r, 1000)));

  const publishMs: number[] = [];
  const started = performance.now();
  const viaPool = await pollDuring(async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    let next = 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (next < PUBLISHES) {
          const i = next++;
          const payload = JSON.stringify({ id: `big-${i}`, title: `Big ${i}`, body: body(i), language: "en" });
          const t = performance.now();
          const status = await request(port, "POST", "/api/releases", agent, payload);
          if (status !== 202) throw new Error(`publish answered ${status}`);
          publishMs.push(performance.now() - t);
        }
      }),
    );
    agent.destroy();
  });
  const poolSeconds = (performance.now() - started) / 1000;

  const inlineMs: number[] = [];
  const inline = await pollDuring(async () => {
    for (let i = 0; i < PUBLISHES; i++) {
      await new Promise((r) => setImmediate(r));
      const text = body(100 + i);
      const t = performance.now();
      renderBody(text);
      inlineMs.push(performance.now() - t);
    }
  });

  const figures = {
    publishes: PUBLISHES,
    body_bytes: body(0).length,
    render_on_main_thread_median_ms: r1(pct(inlineMs, 50)),
    publish_latency_p50_ms: r1(pct(publishMs, 50)),
    publish_latency_max_ms: r1(Math.max(...publishMs)),
    publishes_per_s: r1(PUBLISHES / poolSeconds),
    poll_idle_p50_ms: r1(pct(idle, 50)),
    poll_idle_p99_ms: r1(pct(idle, 99)),
    poll_pool_p50_ms: r1(pct(viaPool, 50)),
    poll_pool_p99_ms: r1(pct(viaPool, 99)),
    poll_pool_max_ms: r1(Math.max(...viaPool)),
    poll_inline_p50_ms: r1(pct(inline, 50)),
    poll_inline_p99_ms: r1(pct(inline, 99)),
    poll_inline_max_ms: r1(Math.max(...inline)),
  };
  process.stdout.write(
    `\nFeed polls (${POLLERS} clients) while ${PUBLISHES} releases of ${(figures.body_bytes / 1e6).toFixed(2)} MB are published, 2 at a time\n` +
      `  rendering one body on the main thread          ${figures.render_on_main_thread_median_ms} ms (median)\n` +
      `  publish latency p50 / max                      ${figures.publish_latency_p50_ms} / ${figures.publish_latency_max_ms} ms\n` +
      `  poll latency, idle          p50 / p99          ${figures.poll_idle_p50_ms} / ${figures.poll_idle_p99_ms} ms\n` +
      `  poll latency, worker pool   p50 / p99 / max    ${figures.poll_pool_p50_ms} / ${figures.poll_pool_p99_ms} / ${figures.poll_pool_max_ms} ms\n` +
      `  poll latency, main thread   p50 / p99 / max    ${figures.poll_inline_p50_ms} / ${figures.poll_inline_p99_ms} / ${figures.poll_inline_max_ms} ms\n`,
  );
  process.stdout.write(`BENCH ${JSON.stringify({ name: "publish-polls", ...figures })}\n`);
} finally {
  await app.close();
  await rt.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
