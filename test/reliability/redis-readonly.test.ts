// A Redis that stops taking writes (demoted to a replica behind the same address, as a managed
// service's switch-over or an old primary back as a replica does): /readyz and the API say so
// with 503 instead of answering 200 and failing every write, and recover when it is writable.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig } from "../../src/config/index.ts";
import { buildApp } from "../../src/http/app.ts";
import { type EmbeddedRedis, freePort, startRedisServer } from "../../src/redis/embedded.ts";
import { deleteMatching } from "../../src/redis/scan.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import { TEST_TOKEN, auth } from "../helpers/http.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, uniquePrefix } from "../helpers/runtime.ts";

let dir: string;
let a: EmbeddedRedis;
let b: EmbeddedRedis;
let admin: Redis;
let rt: Runtime;
let app: FastifyInstance;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "herald-readonly-"));
  [a, b] = await Promise.all([
    startRedisServer({ dir: path.join(dir, "a"), port: await freePort(), appendonly: false }),
    startRedisServer({ dir: path.join(dir, "b"), port: await freePort(), appendonly: false }),
  ]);
  admin = new Redis(a.url);
  rt = await createRuntime({ config: testConfig({ prefix: uniquePrefix("ro") }), redisUrl: a.url });
  app = await buildApp(rt, { apiToken: TEST_TOKEN });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await admin?.call("REPLICAOF", "NO", "ONE").catch(() => {});
  if (rt) await deleteMatching(rt.redis, rt.keyPatterns()).catch(() => 0);
  await rt?.close();
  admin?.disconnect();
  await Promise.all([a?.stop(), b?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("a Redis that turned read-only", () => {
  it("/readyz 503 (read-only) and the API 503 while writes fail; 200 once writable again", async () => {
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
    const port = new URL(b.url).port;
    await admin.call("REPLICAOF", "127.0.0.1", port);
    // PING still answers: only a write tells the truth.
    expect(await rt.redis.ping()).toBe("PONG");
    const res = await eventually(
      async () => {
        const r = await app.inject({ url: "/readyz" });
        return r.statusCode === 503 ? r : undefined;
      },
      10_000,
      "/readyz 503",
    );
    expect(res.json()).toMatchObject({ ok: false, redis: "read-only" });
    const post = await app.inject({
      method: "POST",
      url: "/api/releases",
      headers: auth,
      payload: sampleRelease({ id: "ro" }),
    });
    expect(post.statusCode).toBe(503);
    expect(post.json().error).toMatch(/Redis/);

    await admin.call("REPLICAOF", "NO", "ONE");
    await eventually(
      async () => (await app.inject({ url: "/readyz" })).statusCode === 200,
      10_000,
      "/readyz 200 again",
    );
    const again = await app.inject({
      method: "POST",
      url: "/api/releases",
      headers: auth,
      payload: sampleRelease({ id: "ro" }),
    });
    expect(again.statusCode).toBe(202);
  });
});
