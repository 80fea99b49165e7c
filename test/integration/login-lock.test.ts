// Failed logins are counted per client in Redis and locked out with 429 + Retry-After; the lock
// holds for concurrent guesses, for the right secret while locked, across the API, the dashboard
// and /metrics; X-Forwarded-For changes the client only when TRUST_PROXY trusts the peer.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type Config, testConfig } from "../../src/config/index.ts";
import { buildApp } from "../../src/http/app.ts";
import { clientKey } from "../../src/http/login-failures.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import { TEST_TOKEN } from "../helpers/http.ts";
import { TEST_SECRET } from "../helpers/mail.ts";
import { rawRequest } from "../helpers/raw-http.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "../helpers/runtime.ts";

const ADMIN_PASSWORD = "admin-password-for-tests";
const METRICS_TOKEN = "metrics-token-0123456789abcdef";
const WRONG = "wrong-token-that-must-not-be-logged";
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

interface Served {
  rt: Runtime;
  app: FastifyInstance;
  port: number;
  logs: string[];
}
const open: Served[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) {
    await s.app.close();
    await s.rt.close();
    await deletePrefix(s.rt.config.prefix);
  }
});

async function serve(overrides: Partial<Config> = {}): Promise<Served> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const config = testConfig({ prefix: uniquePrefix("lock"), secretKey: TEST_SECRET, authMaxFailures: 5, ...overrides });
  const rt = await createRuntime({ config, redisUrl: redisUrl(), log: pino({ level: "info" }, sink) });
  const app = await buildApp(rt, { apiToken: TEST_TOKEN });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const s = { rt, app, port: (app.server.address() as AddressInfo).port, logs };
  open.push(s);
  return s;
}

const get = (s: Served, path: string, headers: Record<string, string> = {}) =>
  rawRequest(s.port, "GET", path, headers, undefined, new http.Agent());

describe("failed logins", () => {
  it("after AUTH_MAX_FAILURES wrong tokens: 429 with Retry-After, even for the right token; each failure logged without the secret", async () => {
    const s = await serve({ authMaxFailures: 5, authFailureWindowS: 600 });
    for (let i = 0; i < 5; i++) expect((await get(s, "/api/releases/x", bearer(WRONG))).status).toBe(401);
    const locked = await get(s, "/api/releases/x", bearer(WRONG));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers["retry-after"])).toBeGreaterThan(590);
    expect(Number(locked.headers["retry-after"])).toBeLessThanOrEqual(600);
    expect(JSON.parse(locked.body).error).toMatch(/too many failed logins/);
    // The right token while locked: refused too (a guesser learns nothing during the lock).
    expect((await get(s, "/api/releases/x", bearer(TEST_TOKEN))).status).toBe(429);
    const text = s.logs.join("");
    expect(text.match(/login failed: wrong API token/g)).toHaveLength(5);
    expect(text).toMatch(/"ip":"127\.0\.0\.1"/);
    expect(text).not.toContain(WRONG);
    expect(text).not.toContain(TEST_TOKEN);
  });

  it("concurrent guesses cannot get past the limit", async () => {
    const s = await serve({ authMaxFailures: 5 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        rawRequest(
          s.port,
          "POST",
          "/api/releases",
          { ...bearer(`${WRONG}-${i}`), "content-type": "application/json" },
          "{}",
          agent,
        ),
      ),
    );
    agent.destroy();
    const counts: Record<number, number> = {};
    for (const r of answers) counts[r.status] = (counts[r.status] ?? 0) + 1;
    expect(counts).toEqual({ 401: 5, 429: 55 });
    expect(await s.rt.redis.get(`${s.rt.config.prefix}:auth-failures:127.0.0.1`)).toBe("5");
  });

  it("requests without credentials are refused but not counted; the right token then works", async () => {
    const s = await serve({ authMaxFailures: 3 });
    for (let i = 0; i < 10; i++) expect((await get(s, "/api/releases/x")).status).toBe(401);
    expect((await get(s, "/api/releases/x", bearer(TEST_TOKEN))).status).toBe(404);
  });

  it("the dashboard, the API and /metrics share one count per client", async () => {
    const s = await serve({ authMaxFailures: 3, adminPassword: ADMIN_PASSWORD, metricsToken: METRICS_TOKEN });
    const basic = `Basic ${Buffer.from("admin:nope").toString("base64")}`;
    expect((await get(s, "/admin/queues/api/queues", { authorization: basic })).status).toBe(401);
    expect((await get(s, "/metrics", bearer(WRONG))).status).toBe(401);
    expect((await get(s, "/api/releases/x", bearer(WRONG))).status).toBe(401);
    expect(
      (
        await get(s, "/admin/queues/api/queues", {
          authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}`,
        })
      ).status,
    ).toBe(429);
    expect((await get(s, "/metrics", bearer(METRICS_TOKEN))).status).toBe(429);
    expect(s.logs.join("")).toMatch(/login failed: wrong dashboard password/);
    expect(s.logs.join("")).not.toContain(ADMIN_PASSWORD);
  });

  it("the lock ends with its window", async () => {
    const s = await serve({ authMaxFailures: 2, authFailureWindowS: 1 });
    await get(s, "/api/releases/x", bearer(WRONG));
    await get(s, "/api/releases/x", bearer(WRONG));
    const locked = await get(s, "/api/releases/x", bearer(TEST_TOKEN));
    expect(locked.status).toBe(429);
    expect(locked.headers["retry-after"]).toBe("1");
    await new Promise((r) => setTimeout(r, 1100)); // the 1 s window runs out for real: what is tested
    expect((await get(s, "/api/releases/x", bearer(TEST_TOKEN))).status).toBe(404);
  });

  it("with Redis unreachable, guarded routes answer 503 (the lock cannot be read) and never let anyone through", async () => {
    const s = await serve({ metricsToken: METRICS_TOKEN });
    s.rt.redis.disconnect();
    for (const headers of [bearer(TEST_TOKEN), bearer(WRONG), {}]) {
      const res = await get(s, "/api/releases/x", headers);
      expect(res.status).toBe(503);
      expect(res.headers["retry-after"]).toBe("5");
    }
    expect((await get(s, "/metrics", bearer(METRICS_TOKEN))).status).toBe(503);
    expect((await get(s, "/healthz")).status).toBe(200);
  });

  it("counts IPv6 clients by their /64 and IPv4-mapped addresses as IPv4", () => {
    expect(clientKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe(clientKey("2001:db8:1:2:bbbb::9"));
    expect(clientKey("2001:db8:1:2::1")).not.toBe(clientKey("2001:db8:1:3::1"));
  });
});

describe("/metrics", () => {
  it("is open without METRICS_TOKEN", async () => {
    const s = await serve();
    const res = await get(s, "/metrics");
    expect(res.status).toBe(200);
    expect(res.body).toContain("herald_http_request_duration_seconds");
  });

  it("needs the bearer METRICS_TOKEN when it is set (and not the API token)", async () => {
    const s = await serve({ metricsToken: METRICS_TOKEN });
    const none = await get(s, "/metrics");
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/Bearer/);
    expect((await get(s, "/metrics", bearer(TEST_TOKEN))).status).toBe(401);
    expect((await get(s, "/m%65trics", bearer(`${METRICS_TOKEN}x`))).status).toBe(401);
    const ok = await get(s, "/metrics", bearer(METRICS_TOKEN));
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("process_cpu");
  });
});

describe("X-Forwarded-For", () => {
  const spoofed = (i: number) => ({ ...bearer(WRONG), "x-forwarded-for": `198.51.100.${i}` });

  it("from an untrusted peer changes nothing (TRUST_PROXY unset)", async () => {
    const s = await serve({ authMaxFailures: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await get(s, "/api/releases/x", { ...spoofed(i), "x-real-ip": `198.51.100.${i}` })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it("from a peer outside the TRUST_PROXY list changes nothing", async () => {
    const s = await serve({ authMaxFailures: 3, trustProxy: ["10.0.0.0/8"] });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(s, "/api/releases/x", spoofed(i))).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it("from a trusted proxy names the client: each client has its own count", async () => {
    const s = await serve({ authMaxFailures: 2, trustProxy: ["127.0.0.1"] });
    for (let i = 0; i < 3; i++) expect((await get(s, "/api/releases/x", spoofed(1))).status).toBe(i < 2 ? 401 : 429);
    // Another client behind the same proxy is not locked out by the first.
    expect((await get(s, "/api/releases/x", { ...bearer(TEST_TOKEN), "x-forwarded-for": "198.51.100.2" })).status).toBe(
      404,
    );
    // A client cannot pose as another by prepending addresses: the proxy appends the real one.
    const chained = await get(s, "/api/releases/x", {
      ...bearer(TEST_TOKEN),
      "x-forwarded-for": "198.51.100.2, 198.51.100.1",
    });
    expect(chained.status).toBe(429);
    expect(s.logs.join("")).toMatch(/"ip":"198\.51\.100\.1"/);
  });

  it("with a hop count, only that many hops are believed", async () => {
    const s = await serve({ authMaxFailures: 2, trustProxy: 1 });
    const statuses: number[] = [];
    // The client varies the part it controls; the address the proxy appended stays the same.
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await get(s, "/api/releases/x", { ...bearer(WRONG), "x-forwarded-for": `203.0.113.${i}, 198.51.100.7` }))
          .status,
      );
    expect(statuses).toEqual([401, 401, 429, 429]);
  });

  it("does not get around the /subscribe rate limit from an untrusted peer", async () => {
    const s = await serve();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await rawRequest(
        s.port,
        "POST",
        "/subscribe",
        {
          "content-type": "application/x-www-form-urlencoded",
          "x-forwarded-for": `198.51.100.${i}`,
          accept: "application/json",
        },
        "email=reader%40example.org&language=en&frequency=daily",
        new http.Agent(),
      );
      statuses.push(res.status);
    }
    expect(statuses.filter((x) => x === 429).length).toBeGreaterThanOrEqual(2);
    expect(statuses.slice(-1)).toEqual([429]);
  });
});
