// Herald on a real 3-master Redis Cluster: the core flows work, the queues spread over the
// masters (each on its own hash tag), SCAN-based clean-up reaches every master, and /readyz
// says so when a master Herald writes to is gone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, testConfig } from "../../src/config/index.ts";
import { QUEUE_NAMES } from "../../src/jobs/queues.ts";
import { partnerStore } from "../../src/partners/service.ts";
import { buildApp } from "../../src/http/app.ts";
import { clusterOf, masters } from "../../src/redis/connection.ts";
import { deleteMatching, scanAll } from "../../src/redis/scan.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import {
  alertArrives,
  type Herald,
  heraldConfig,
  publish,
  runCoreFlows,
  startHerald,
  subscribeAndConfirm,
} from "../helpers/core-flows.ts";
import { parseWithRssParser } from "../helpers/feeds.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { startCluster, type TestCluster } from "../helpers/redis-ha.ts";
import { runCli } from "../helpers/cli.ts";
import { TEST_TOKEN } from "../helpers/http.ts";
import { TEST_SECRET } from "../helpers/mail.ts";
import { eventually, uniquePrefix } from "../helpers/runtime.ts";
import { startSmtp, type TestSmtp } from "../helpers/smtp.ts";
import { type Receiver, startReceiver } from "../helpers/webhook-receiver.ts";

let cluster: TestCluster;
let smtp: TestSmtp;
let rx: Receiver;
let rt: Runtime;
let herald: Herald;

beforeAll(async () => {
  [cluster, smtp, rx] = await Promise.all([startCluster(3), startSmtp(), startReceiver()]);
  const env = {
    REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(","),
    HERALD_PREFIX: `{${uniquePrefix("cluster")}}`,
  };
  const parsed = loadConfig(env);
  expect(parsed.redisHa).toMatchObject({ mode: "cluster", nodes: cluster.nodes });
  rt = await createRuntime({ config: testConfig({ ...parsed, ...heraldConfig(smtp) }), redisUrl: parsed.redisHa! });
  herald = await startHerald(rt);
}, 60_000);

afterAll(async () => {
  await herald?.stop();
  await rt?.close();
  await Promise.all([cluster?.stop(), smtp?.close(), rx?.close()]);
});

describe("Redis Cluster", { timeout: 60_000 }, () => {
  it("runs publish -> email, webhooks, feeds, subscribe/confirm/unsubscribe and the daily digest", async () => {
    expect((await herald.app.inject({ url: "/readyz" })).statusCode).toBe(200);
    await runCoreFlows(herald, smtp, rx, "cl");
  });

  it("spreads the queues over the masters: keys on more than one", async () => {
    const counts = await cluster.keyCounts();
    console.log("keys per master:", counts);
    expect(Object.values(counts).filter((n) => n > 0).length).toBeGreaterThan(1);
    // Each queue has one hash tag of its own (its keys hash by that tag alone); the data shares
    // the prefix's.
    const keyslot = async (key: string) => Number(await cluster.node(cluster.nodes[0]!.port).cluster("KEYSLOT", key));
    const stem = rt.config.prefix.slice(1, -1);
    for (const q of QUEUE_NAMES) {
      expect(rt.queuePrefix(q)).toBe(`{${stem}:q:${q}}`);
      expect(await keyslot(`${rt.queuePrefix(q)}:${q}:wait`)).toBe(await keyslot(`${stem}:q:${q}`));
    }
    expect(await keyslot(rt.key("release", "x"))).toBe(await keyslot(stem));
    expect(masters(rt.redis)).toHaveLength(3);
  });

  it("moving the data's slot and a queue's slot to another master during a run loses nothing", async () => {
    const slotOf = async (key: string) => Number(await cluster.node(cluster.nodes[0]!.port).cluster("KEYSLOT", key));
    const dataSlot = await slotOf(rt.key("x"));
    const emailSlot = await slotOf(`${rt.queuePrefix("emails")}:x`);
    const [dataFrom, emailFrom] = [await cluster.ownerOf(dataSlot), await cluster.ownerOf(emailSlot)];
    const other = (port: number) => cluster.nodes.find((n) => n.port !== port)!.port;
    // Publishing while the keys move: each request must succeed (no 500 on MOVED/ASK).
    const publishing = (async () => {
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await herald.app.inject({
          method: "POST",
          url: "/api/releases",
          headers: { authorization: `Bearer ${TEST_TOKEN}` },
          payload: sampleRelease({ id: `mig-${i}`, title: `Migrating ${i}`, publishedAt: new Date().toISOString() }),
        });
        codes.push(res.statusCode);
        await new Promise((r) => setTimeout(r, 50)); // spread over the migration: what is tested
      }
      return codes;
    })();
    const movedData = await cluster.migrateSlot(dataSlot, other(dataFrom));
    const movedEmails = await cluster.migrateSlot(emailSlot, other(emailFrom));
    const codes = await publishing;
    console.log(
      `slot migration: ${movedData} data keys and ${movedEmails} emails-queue keys moved; API answers ${codes.join(",")}`,
    );
    expect(movedData).toBeGreaterThan(10);
    expect(codes.every((c) => c === 202)).toBe(true);
    expect(await cluster.ownerOf(dataSlot)).not.toBe(dataFrom);
    // Everything arrives after the move: the feed has all eight, the reader who unsubscribed
    // gets none of them, and a new reader gets the next alert.
    await eventually(
      async () => {
        const items = (await parseWithRssParser((await herald.app.inject({ url: "/feeds/rss.xml" })).body)).items;
        return Array.from({ length: 8 }, (_, i) => `Migrating ${i}`).every((t) => items.some((x) => x.title === t));
      },
      20_000,
      "all eight releases in the feed",
    );
    await subscribeAndConfirm(herald, smtp, "after-move@example.org");
    await publish(herald, "moved", "After the move");
    await alertArrives(smtp, "after-move@example.org", "moved");
    expect(smtp.to("reader-cl@example.org")).toHaveLength(2);
  });

  it("a runtime on a cluster refuses a prefix without a hash tag (tools that bypass the config)", async () => {
    await expect(createRuntime({ config: testConfig({ prefix: "plain" }), redisUrl: rt.redisTarget })).rejects.toThrow(
      /prefix "plain" has no hash tag/,
    );
  });

  it("REDIS_URL at one node of a cluster is refused with what to set instead (not MOVED on every request)", async () => {
    const node = `redis://127.0.0.1:${cluster.nodes[0]!.port}`;
    await expect(createRuntime({ config: testConfig({ prefix: "{x}" }), redisUrl: node })).rejects.toThrow(
      /is a node of a Redis Cluster: set REDIS_CLUSTER_NODES/,
    );
  });

  it("the CLI runs on the cluster from its environment, and refuses a prefix without a hash tag", async () => {
    const nodes = cluster.nodes.map((n) => `${n.host}:${n.port}`).join(",");
    const r = await runCli(["status", "--json"], {
      REDIS_CLUSTER_NODES: nodes,
      HERALD_PREFIX: rt.config.prefix,
      SECRET_KEY: TEST_SECRET,
    });
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout);
    expect(status.releases).toBe(11);
    // Every master is inspected: these test masters run without persistence, and each says so.
    expect(
      status.redis.problems.filter((p: string) => /^master 127\.0\.0\.1:\d+: persistence is off/.test(p)),
    ).toHaveLength(3);
    const bad = await runCli(["status"], { REDIS_CLUSTER_NODES: nodes, HERALD_PREFIX: "herald" });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/HERALD_PREFIX="herald" is not allowed with REDIS_CLUSTER_NODES/);
  });

  it("partner removal and clean-up walk every master and leave nothing", async () => {
    const [partner] = await partnerStore(rt).list();
    expect(partner).toBeTruthy();
    const lock = rt.key("partners", "p", partner!.id, "lock", "x");
    await rt.redis.set(lock, "held", "PX", 60_000);
    expect(await scanAll(rt.redis, rt.key("partners", "p", partner!.id, "lock", "*"))).toEqual([lock]);
    expect(await partnerStore(rt).remove(partner!.id)).toBe(true);
    expect(await scanAll(rt.redis, rt.key("partners", "p", partner!.id, "*"))).toEqual([]);

    await herald.stop();
    // Every key in the cluster is Herald's, found by its patterns on all three masters.
    const found = (await Promise.all(rt.keyPatterns().map((p) => scanAll(rt.redis, p)))).flat();
    const total = Object.values(await cluster.keyCounts()).reduce((a, b) => a + b, 0);
    expect(found.length).toBe(total);
    expect(await deleteMatching(rt.redis, rt.keyPatterns())).toBe(total);
    expect(await cluster.keyCounts()).toEqual(Object.fromEntries(cluster.nodes.map((n) => [`${n.host}:${n.port}`, 0])));
  });

  it("/readyz answers 503 when a master holding one of Herald's slots is down", async () => {
    const app = await buildApp(rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
    try {
      expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
      // A master that holds a queue but not the data: the probe must cover queues too.
      const c = clusterOf(rt.redis)!;
      const slotOf = async (key: string) => Number(await cluster.node(cluster.nodes[0]!.port).cluster("KEYSLOT", key));
      const dataNode = c.slots[await slotOf(rt.key("x"))]![0]!;
      let victim: string | undefined;
      for (const q of QUEUE_NAMES) {
        const owner = c.slots[await slotOf(`${rt.queuePrefix(q)}:x`)]![0]!;
        if (owner !== dataNode) victim = owner;
      }
      expect(victim).toBeTruthy();
      await cluster.kill(Number(victim!.split(":")[1]));
      const res = await eventually(
        async () => {
          const r = await app.inject({ url: "/readyz" });
          return r.statusCode === 503 ? r : undefined;
        },
        15_000,
        "/readyz to answer 503",
      );
      expect(res.json()).toMatchObject({ ok: false });
    } finally {
      await app.close();
    }
  });
});
