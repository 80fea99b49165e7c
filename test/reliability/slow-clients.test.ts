// Slow clients are cut (REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS, CONNECTION_TIMEOUT_MS,
// KEEP_ALIVE_TIMEOUT_MS, MAX_REQUESTS_PER_SOCKET), over raw sockets; and a 1 MB publish does not
// hold up feed polls: the body is rendered on a worker thread.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/index.ts";
import { buildFeed } from "../../src/feeds/build.ts";
import { buildApp } from "../../src/http/app.ts";
import { renderBody } from "../../src/releases/sanitize.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { auth, TEST_TOKEN } from "../helpers/http.ts";
import { rawExchange, rawRequest } from "../helpers/raw-http.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime | null = null;
let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  await rt?.destroy();
  app = null;
  rt = null;
});

async function serve(config: Partial<Config>): Promise<number> {
  rt = await testRuntime({ label: "slow", config });
  app = await buildApp(rt, { apiToken: TEST_TOKEN });
  await app.listen({ host: "127.0.0.1", port: 0 });
  return (app.server.address() as AddressInfo).port;
}

const TIMEOUTS = { requestTimeoutMs: 1000, headersTimeoutMs: 1000, connectionTimeoutMs: 60_000 };
const head = (length: number) =>
  `POST /api/releases HTTP/1.1\r\nhost: x\r\nauthorization: ${auth.authorization}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

describe("slow clients", () => {
  it("a body that stops half-way is cut at REQUEST_TIMEOUT_MS (408), and nothing is stored", async () => {
    const port = await serve(TIMEOUTS);
    const body = JSON.stringify(sampleRelease({ id: "half" }));
    const { text, closedAfterMs } = await rawExchange(port, head(body.length) + body.slice(0, body.length / 2), {
      timeoutMs: 5000,
    });
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(3000);
    expect(await rt!.releases.get("half")).toBeNull();
  });

  it("a body trickled a byte at a time is cut too: the limit is on the whole request", async () => {
    const port = await serve(TIMEOUTS);
    const started = Date.now();
    const closed = await new Promise<number>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.write(head(10_000)));
      const drip = setInterval(() => socket.writable && socket.write("{"), 100);
      socket.on("error", () => {});
      socket.on("close", () => {
        clearInterval(drip);
        resolve(Date.now() - started);
      });
      setTimeout(() => socket.destroy(), 8000); // a bound, not a wait: the server should close first
    });
    expect(closed).toBeLessThan(3000);
  });

  it("headers that never end are cut at HEADERS_TIMEOUT_MS", async () => {
    const port = await serve(TIMEOUTS);
    const { closedAfterMs } = await rawExchange(port, "GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: 1", {
      timeoutMs: 5000,
    });
    expect(closedAfterMs).toBeLessThan(3000);
  });

  it("a silent connection is closed at CONNECTION_TIMEOUT_MS; an idle keep-alive one at KEEP_ALIVE_TIMEOUT_MS", async () => {
    const port = await serve({ ...TIMEOUTS, connectionTimeoutMs: 1000, keepAliveTimeoutMs: 500 });
    expect((await rawExchange(port, "", { timeoutMs: 5000 })).closedAfterMs).toBeLessThan(3000);
    const kept = await rawExchange(port, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n", { timeoutMs: 5000 });
    expect(kept.text).toMatch(/^HTTP\/1\.1 200/);
    expect(kept.closedAfterMs).toBeLessThan(2000);
  });

  it("MAX_REQUESTS_PER_SOCKET closes a connection after that many requests", async () => {
    const port = await serve({ maxRequestsPerSocket: 2 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await rawRequest(port, "GET", "/healthz", {}, undefined, agent);
    const second = await rawRequest(port, "GET", "/healthz", {}, undefined, agent);
    agent.destroy();
    expect(first.headers.connection).toBe("keep-alive");
    expect(second.headers.connection).toBe("close");
  });
});

describe("a large publish and feed polls", () => {
  // 0.9 MB (1 MiB with the JSON around it) of small paragraphs: among the costliest bodies per byte for sanitize-html and html-to-text.
  const bigBody = () => `<p>${"a <b>b</b> ".repeat(10)}</p>\n`.repeat(Math.floor(900_000 / 118));

  it("polls keep a low latency while 1 MB bodies are sanitised", async () => {
    const port = await serve({});
    const svc = new ReleaseService(rt!);
    await svc.publish(sampleRelease({ id: "polled" }));
    await buildFeed(rt!, "all");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const poll = () => rawRequest(port, "GET", "/feeds/atom.xml", {}, undefined, agent);
    await eventually(async () => (await poll()).status === 200, 10_000, "the feed answering");

    // What rendering one such body costs on this thread, on this machine, now.
    const body = bigBody();
    const t0 = performance.now();
    renderBody(body);
    const inlineMs = performance.now() - t0;

    const latencies: number[] = [];
    const pollStatuses = new Set<number | string>();
    let publishing = true;
    const polling = (async () => {
      while (publishing) {
        const t = performance.now();
        const res = await poll().catch((err: Error) => ({ status: err.message }));
        latencies.push(performance.now() - t);
        pollStatuses.add(res.status);
        await new Promise((r) => setTimeout(r, 5)); // a poller's pace while the publishes run: the load tested
      }
    })();
    const publishes = await Promise.all(
      [1, 2].map((i) =>
        rawRequest(
          port,
          "POST",
          "/api/releases",
          { ...auth, "content-type": "application/json" },
          JSON.stringify(sampleRelease({ id: `big-${i}`, body: `${body}<p>${i}</p>` })),
          new http.Agent(),
        ),
      ),
    );
    publishing = false;
    await polling;
    agent.destroy();
    expect([...pollStatuses]).toEqual([200]);
    for (const p of publishes) expect(p.status, p.body.slice(0, 200)).toBe(202);
    expect((await rt!.releases.get("big-1"))!.bodyText.length).toBeGreaterThan(100_000);

    latencies.sort((a, b) => a - b);
    const max = latencies.at(-1)!;
    const p50 = latencies[Math.floor(latencies.length / 2)]!;
    console.log(
      `render inline ${inlineMs.toFixed(0)} ms; ${latencies.length} polls during 2 publishes: p50 ${p50.toFixed(1)} ms, max ${max.toFixed(0)} ms`,
    );
    expect(latencies.length).toBeGreaterThan(10);
    // Rendered on this thread, the bodies would hold a poll for about inlineMs each; off it, a
    // poll waits at most for JSON parsing and the Redis write of one body.
    expect(max).toBeLessThan(Math.max(400, inlineMs));
    expect(p50).toBeLessThan(50);
  }, 120_000);

  it("a body nested too deep is refused with 400, not a crash", async () => {
    const port = await serve({});
    const deep = (n: number) => `${"<blockquote>".repeat(n)}deep${"</blockquote>".repeat(n)}`;
    const cases: [string, RegExp][] = [
      [deep(200), /nested more than 100 deep/],
      [`${deep(200)}<p>${"x".repeat(40_000)}</p>`, /nested more than 100 deep/],
      [deep(5000), /nested more than 500 deep/],
      ["<b>".repeat(200_000), /nested more than 500 deep/],
    ];
    for (const [body, error] of cases) {
      const res = await rawRequest(
        port,
        "POST",
        "/api/releases",
        { ...auth, "content-type": "application/json" },
        JSON.stringify(sampleRelease({ body })),
        new http.Agent(),
      );
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error).toMatch(error);
    }
    expect(await rt!.releases.count()).toBe(0);
  }, 60_000);
});
