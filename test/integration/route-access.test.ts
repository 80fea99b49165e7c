// Every guarded route, read from the app's own route table (so a route added later is covered
// without editing this file), is called over a real socket without credentials, with wrong ones,
// with another area's right credential, and under many spellings of its path. Each answer must be
// a refusal and Redis must hold exactly what it held before.
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeTable } from "../../src/http/access.ts";
import { buildApp } from "../../src/http/app.ts";
import { QUEUE_NAMES } from "../../src/jobs/queues.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { TEST_TOKEN } from "../helpers/http.ts";
import { TEST_SECRET } from "../helpers/mail.ts";
import { inPool, rawExchange, rawRequest, rawSocketRequest } from "../helpers/raw-http.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { spellings } from "../helpers/spellings.ts";

const ADMIN_PASSWORD = "admin-password-for-tests";
const METRICS_TOKEN = "metrics-token-0123456789abcdef";
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

let rt: TestRuntime;
let app: FastifyInstance;
let port: number;
let origin: string;
let redis: Redis;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

beforeAll(async () => {
  rt = await testRuntime({
    label: "routes",
    // A high limit: this test checks the credential on every spelling, not the lock (which would
    // turn every answer into 429 after a few failures; login-lock.test.ts covers it).
    config: {
      adminPassword: ADMIN_PASSWORD,
      metricsToken: METRICS_TOKEN,
      secretKey: TEST_SECRET,
      authMaxFailures: 1_000_000,
    },
  });
  // A release whose id the routes' :id takes, so a request that got through would find it.
  await new ReleaseService(rt).publish(sampleRelease({ id: "seeded" }));
  app = await buildApp(rt, { apiToken: TEST_TOKEN });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  agent.destroy();
  redis?.disconnect();
  await app?.close();
  await rt?.destroy();
});

/** Every key under the test's prefix with a digest of its value, except the login-failure counters. */
async function snapshot(): Promise<Map<string, string>> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${rt.config.prefix}:*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch.filter((k) => !k.includes(":auth-failures:")));
  } while (cursor !== "0");
  const out = new Map<string, string>();
  for (const k of keys.sort()) {
    const dump = await redis.dumpBuffer(k);
    out.set(k, dump ? createHash("sha256").update(dump).digest("hex") : "gone");
  }
  return out;
}

/** Parses printRoutes()'s tree into "METHOD /full/path" lines: a second, independent route list. */
function printedRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split("\n")) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line.replace(/\u00a0/g, " "));
    if (!m) continue;
    const depth = [...m[1]!].length / 4;
    stack.length = depth;
    const full = (stack[depth - 1] ?? "") + m[2]!;
    stack[depth] = full;
    for (const method of (m[3] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean))
      out.push(`${method} ${full}`);
  }
  return out;
}

/** A concrete path for a route pattern: real names where a handler would find something. */
function concrete(url: string): string {
  const samples: Record<string, string> = {
    id: "seeded",
    frequency: "daily",
    queueName: QUEUE_NAMES[0]!,
    queueStatus: "failed",
    jobId: "x",
    schedulerId: "x",
  };
  return url.replace(/:([A-Za-z]+)/g, (_m, name: string) => samples[name] ?? "x").replace(/\*$/, "x");
}

const BODY = JSON.stringify({
  ...sampleRelease({ id: "spelled" }),
  email: "spelled@example.org",
  confirmed: true,
  name: "spelled",
  url: "https://example.org/hook",
  data: {},
});

function guarded(): { method: string; url: string; access: string }[] {
  const table = routeTable(app).filter(
    (r) => /^\/(api|admin|metrics)(\/|$)/i.test(r.url) || !["public", "reader"].includes(r.access),
  );
  return table;
}

describe("the route table", () => {
  it("holds every route the router has, and every /api, /admin and /metrics route is guarded", () => {
    const table = new Set(routeTable(app).map((r) => `${r.method} ${r.url}`));
    const printed = printedRoutes(app.printRoutes({ commonPrefix: false }));
    expect(printed.length).toBeGreaterThan(50);
    // printRoutes shows the trailing-slash twin Fastify adds for a prefix's "/" route, and
    // merges parameters and wildcards of sibling routes ("/feeds/:file|:kind"): those are
    // compared up to their first parameter.
    const entries = [...table];
    const missing = printed.filter((r) => {
      if (table.has(r) || table.has(r.replace(/\/$/, ""))) return false;
      const stem = r.replace(/[:*|].*$/, "");
      return !/[:*|]/.test(r) || !entries.some((e) => e.startsWith(stem));
    });
    expect(missing).toEqual([]);
    for (const r of routeTable(app)) {
      if (r.url.startsWith("/api")) expect(r.access, `${r.method} ${r.url}`).toBe("api");
      if (r.url.startsWith("/admin")) expect(r.access, `${r.method} ${r.url}`).toBe("admin");
    }
    expect(guarded().filter((r) => r.url.startsWith("/admin/queues/api/")).length).toBeGreaterThan(20);
    expect(guarded().map((r) => r.url)).toContain("/metrics");
  });
});

describe("every guarded route refuses", () => {
  it("no credentials, wrong ones and other areas' right ones, under every spelling of its path, storing nothing", async () => {
    const before = await snapshot();
    const wrongs: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong-token-0123456789abcdef" },
      { authorization: basic("admin", "wrong-password") },
      { authorization: basic("Admin", ADMIN_PASSWORD) },
      { authorization: basic("admin", `${ADMIN_PASSWORD} `) },
      { authorization: `Bearer ${TEST_TOKEN}x` },
      { authorization: `Bearer ${TEST_TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64").replace(/=+$/, "")}x` },
      { authorization: "Bearer" },
      { authorization: "" },
    ];
    const rightFor: Record<string, Record<string, string>> = {
      api: { authorization: `Bearer ${TEST_TOKEN}` },
      admin: { authorization: basic("admin", ADMIN_PASSWORD) },
      metrics: { authorization: `Bearer ${METRICS_TOKEN}` },
    };
    const tasks: (() => Promise<string | null>)[] = [];
    let sent = 0;
    for (const route of guarded()) {
      const path = concrete(route.url);
      const others = Object.entries(rightFor)
        .filter(([area]) => area !== route.access)
        .map(([, h]) => h);
      const credentials = [...wrongs, ...others];
      const all = [path, ...spellings(path, origin)];
      all.forEach((p, i) => {
        // The plain path with every credential; each spelling with one of them, in turn.
        const creds = i === 0 ? credentials : [credentials[i % credentials.length]!];
        for (const headers of creds) {
          sent++;
          tasks.push(async () => {
            const hasBody = !["GET", "HEAD", "OPTIONS", "TRACE"].includes(route.method);
            const h = { ...headers, ...(hasBody ? { "content-type": "application/json" } : {}) };
            // Targets the parser refuses close the connection; those go on their own socket.
            const res = await rawRequest(port, route.method, p, h, hasBody ? BODY : undefined, agent).catch(() =>
              rawSocketRequest(port, route.method, p, h, hasBody ? BODY : ""),
            );
            // 400 only from Node's parser (a target that is not a path: "Client Error") or the
            // router refusing a malformed escape, before any route runs.
            const refused =
              [401, 404, 405, 429].includes(res.status) ||
              (res.status === 400 && /FST_ERR_BAD_URL|not a valid url|"Client Error"/i.test(res.body));
            return refused
              ? null
              : `${route.method} ${p} [${headers.authorization ?? "none"}] -> ${res.status} ${res.body.slice(0, 120)}`;
          });
        }
      });
    }
    const started = Date.now();
    const failures = (await inPool(tasks, 16)).filter((x): x is string => x !== null);
    console.log(`${sent} requests on ${guarded().length} guarded routes in ${Date.now() - started} ms`);
    expect(sent).toBeGreaterThan(5000);
    expect(failures.slice(0, 20)).toEqual([]);
    expect(await snapshot()).toEqual(before);
    expect(await rt.releases.get("spelled")).toBeNull();
  }, 300_000);

  it("the right credential, on the plain path, is let through (the check above can fail)", async () => {
    const rightFor: Record<string, string> = {
      api: `Bearer ${TEST_TOKEN}`,
      admin: basic("admin", ADMIN_PASSWORD),
      metrics: `Bearer ${METRICS_TOKEN}`,
    };
    for (const route of guarded().filter((r) => r.method === "GET" && !r.url.endsWith("*"))) {
      const res = await rawRequest(
        port,
        "GET",
        concrete(route.url),
        { authorization: rightFor[route.access]! },
        undefined,
        agent,
      );
      expect([401, 429], `GET ${route.url} -> ${res.status}`).not.toContain(res.status);
    }
    const read = await rawRequest(
      port,
      "GET",
      "/%61pi/releases/seeded",
      { authorization: rightFor.api! },
      undefined,
      agent,
    );
    expect(read.status).toBe(200);
    expect(JSON.parse(read.body)).toMatchObject({ id: "seeded" });
  });

  it("the holes of issue 11 are closed", async () => {
    const post = await rawRequest(
      port,
      "POST",
      "/%61pi/releases",
      { "content-type": "application/json" },
      JSON.stringify({ title: "x", body: "y" }),
      agent,
    );
    expect(post.status).toBe(401);
    const queues = await rawRequest(port, "GET", "/%61dmin/queues/api/queues", {}, undefined, agent);
    expect(queues.status).toBe(401);
    expect(await rt.releases.get("x")).toBeNull();
  });

  it("unknown routes answer 404 JSON; unknown /api ones 401 first", async () => {
    const res = await rawRequest(port, "GET", "/nothing/here", {}, undefined, agent);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ error: "no route GET /nothing/here", issues: [] });
    expect((await rawRequest(port, "DELETE", "/api/releases/seeded", {}, undefined, agent)).status).toBe(401);
    const authed = await rawRequest(
      port,
      "DELETE",
      "/api/releases/seeded",
      { authorization: `Bearer ${TEST_TOKEN}` },
      undefined,
      agent,
    );
    expect(authed.status).toBe(404);
    expect(JSON.parse(authed.body).error).toMatch(/no route DELETE/);
  });
});

describe("odd requests", () => {
  const body = JSON.stringify(sampleRelease({ id: "odd" }));
  const post = (target: string, extra = "") =>
    `POST ${target} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;
  it.each([
    ["absolute-form target", () => post(`${origin}/api/releases`, "connection: close\r\n")],
    ["HTTP/1.0", () => post("/%61pi/releases").replace("HTTP/1.1", "HTTP/1.0")],
    [
      "pipelined behind a public request",
      () => `GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n${post("/%61pi/releases", "connection: close\r\n")}`,
    ],
    [
      "smuggled behind Transfer-Encoding",
      () =>
        `POST /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n${post("/api/releases")}`,
    ],
    [
      "static files' dot segments",
      () => "GET /admin/queues/static/%2e%2e/api/queues HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    ],
    [
      "a public prefix and dot segments",
      () => "GET /feeds/../api/releases/seeded HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    ],
    [
      "the right token second of two Authorization headers",
      () =>
        post(
          "/api/releases",
          `authorization: Bearer nope\r\nauthorization: Bearer ${TEST_TOKEN}\r\nconnection: close\r\n`,
        ),
    ],
  ])("%s: refused", async (_name, bytes) => {
    const { text } = await rawExchange(port, bytes(), { timeoutMs: 5000 });
    const statuses = [...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1]));
    expect(statuses.length).toBeGreaterThan(0);
    // The public request of a pipeline answers 200; nothing else may.
    expect(statuses.filter((s) => s < 400).length).toBe(
      text.startsWith("HTTP/1.1 200") && text.includes('"ok":true') ? 1 : 0,
    );
    expect(await rt.releases.get("odd")).toBeNull();
  });
});

describe("a route must declare its access", () => {
  it("a route without a declaration stops start-up; one that contradicts its place too", async () => {
    const probe = await buildApp(rt, { apiToken: TEST_TOKEN });
    try {
      expect(() => probe.get("/new-page", async () => "x")).toThrow(/declares no access/);
      expect(() => probe.post("/api/new", { config: { access: "public" } }, async () => "x")).toThrow(/must be api/);
      expect(() => probe.get("/admin/new", { config: { access: "api" } }, async () => "x")).toThrow(/must be admin/);
      // A plugin registered without a scope declaration fails when the app loads.
      probe.register(async (scope) => {
        scope.get("/forgotten", async () => "x");
      });
      await expect(probe.ready()).rejects.toThrow(/GET \/forgotten declares no access/);
    } finally {
      await probe.close().catch(() => {});
    }
  });
});
