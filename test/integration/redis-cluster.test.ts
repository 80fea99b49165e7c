// Herald on a real 3-master Redis Cluster: the core flows work, the queues spread over the
// masters (each on its own hash tag), SCAN-based clean-up reaches every master, and /readyz
// says so when a master Herald writes to is gone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, testConfig } from "../../src/config/index.ts";
import { jobId, QUEUE, QUEUE_NAMES } from "../../src/jobs/queues.ts";
import { runAlert } from "../../src/mail/alerts.ts";
import { Ledger } from "../../src/mail/ledger.ts";
import { partnerStore } from "../../src/partners/service.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { subscriberId } from "../../src/subscribers/store.ts";
import { buildApp } from "../../src/http/app.ts";
import { clusterOf, masters } from "../../src/redis/connection.ts";
import { deleteMatching, scanAll } from "../../src/redis/scan.ts";
import { CLUSTER_SHARDS, createRuntime, type Runtime } from "../../src/runtime.ts";
import { Shards } from "../../src/redis/shards.ts";
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
    HERALD_PREFIX: await prefixOnEveryMaster(),
  };
  const parsed = loadConfig(env);
  expect(parsed.redisHa).toMatchObject({ mode: "cluster", nodes: cluster.nodes });
  rt = await createRuntime({ config: testConfig({ ...parsed, ...heraldConfig(smtp) }), redisUrl: parsed.redisHa! });
  herald = await startHerald(rt);
}, 60_000);

/**
 * A fresh prefix whose 16 reader shards are held by all three masters. Which master holds a shard
 * follows from its hash tag's slot, so a random prefix leaves one master without a shard about
 * once in 200 runs; this test asserts readers on every master, so it picks a prefix that has them.
 */
async function prefixOnEveryMaster(): Promise<string> {
  const probe = cluster.node(cluster.nodes[0]!.port);
  for (let i = 0; i < 100; i++) {
    const prefix = `{${uniquePrefix("cluster")}}`;
    const shards = new Shards(prefix, CLUSTER_SHARDS);
    const owners = new Set<number>();
    for (const sh of shards.all())
      owners.add(await cluster.ownerOf(Number(await probe.cluster("KEYSLOT", shards.key(sh, "x")))));
    if (owners.size === 3) return prefix;
  }
  throw new Error("no prefix in 100 tries has reader shards on all three masters");
}

/** One address per shard: readers on every shard, so on every master. */
function onePerShard(shards: Shards, label: string): string[] {
  const out = new Map<number, string>();
  for (let i = 0; out.size < shards.n; i++) {
    const email = `spread-${label}${i}@example.org`;
    const sh = shards.of(subscriberId(email));
    if (!out.has(sh)) out.set(sh, email);
  }
  return [...out.values()];
}

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

  it("spreads the readers over the masters: subscribe, confirm, alerts, unsubscribe and a digest on 16 shards", async () => {
    const stem = rt.config.prefix.slice(1, -1);
    expect(rt.shards).toBe(16);
    const svc = new SubscriberService(rt);
    const store = svc.store;
    const before = await store.countByStatus();
    // Readers through the API (confirmed) and through the form (pending, confirmed by its link).
    const immediate = onePerShard(store.shards, "i");
    const daily = onePerShard(store.shards, "d");
    for (const [frequency, list] of [
      ["immediate", immediate],
      ["daily", daily],
    ] as const) {
      for (const email of list) {
        const res = await herald.app.inject({
          method: "POST",
          url: "/api/subscribers",
          headers: { authorization: `Bearer ${TEST_TOKEN}` },
          payload: { email, frequency, language: "en", confirmed: true },
        });
        expect(res.statusCode, res.body).toBe(201);
      }
    }
    await subscribeAndConfirm(herald, smtp, "spread-form@example.org");
    immediate.push("spread-form@example.org");
    // Each reader's keys are in its own shard: the record's key names the shard its id hashes to.
    const shardsUsed = new Set<number>();
    for (const email of [...immediate, ...daily]) {
      const s = (await store.byEmail(email))!;
      expect(s.status).toBe("confirmed");
      shardsUsed.add(store.shards.of(s.id));
      expect(await rt.redis.exists(store.shards.keyOf(s.id, "sub", s.id))).toBe(1);
    }
    expect(shardsUsed.size).toBe(16);
    // Counts are the sums over the shards.
    const after = await store.countByStatus();
    expect((after.confirmed ?? 0) - (before.confirmed ?? 0)).toBe(immediate.length + daily.length);

    // An alert to every immediate reader, once each, although their ledger entries and leases
    // are spread over the shards (and so the masters); a second run of the fan-out sends nothing.
    await publish(herald, "spread-one", "Spread story");
    for (const email of immediate) await alertArrives(smtp, email, "spread-one");
    // (SMTP has them before the ledger does: wait for every shard's record of them.)
    const ledger = new Ledger(rt.redis, rt.config.prefix, rt.shards);
    await eventually(
      async () => (await ledger.progress("alert-spread-one-r1")).sent === immediate.length,
      20_000,
      "every alert in the ledger",
    );
    // Planned by one job per shard (each on any worker), the parts adding up to every reader.
    expect(await ledger.progress("alert-spread-one-r1")).toMatchObject({
      total: immediate.length,
      sent: immediate.length,
    });
    const whole = await rt.queues[QUEUE.alerts].getJob(
      jobId.alert({ releaseId: "spread-one", revision: 1, event: "published" }),
    );
    expect(whole?.returnvalue).toBe("planned by 16 jobs, one per reader shard");
    const again = await runAlert(rt, { releaseId: "spread-one", revision: 1, event: "published" });
    expect(again).toMatchObject({ readers: 0 });
    // Unsubscribing half: the next story reaches only the other half.
    const gone = immediate.filter((_, i) => i % 2 === 0);
    for (const email of gone) await svc.unsubscribe((await store.byEmail(email))!.id);
    await publish(herald, "spread-two", "Spread story two");
    for (const email of immediate.filter((_, i) => i % 2 === 1)) await alertArrives(smtp, email, "spread-two");
    await new Promise((r) => setTimeout(r, 300));
    for (const email of immediate) {
      const alerts = smtp.to(email).filter((m) => m.parsed.messageId?.startsWith("<alert-spread-"));
      expect(alerts, email).toHaveLength(gone.includes(email) ? 1 : 2);
    }
    expect((await store.countByStatus()).unsubscribed ?? 0).toBeGreaterThanOrEqual(gone.length);

    // The daily digest: planned over every shard, one email per daily reader with both stories.
    const run = await herald.app.inject({
      method: "POST",
      url: "/api/digests/daily/run",
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      payload: {},
    });
    expect(run.statusCode, run.body).toBe(202);
    const digestsTo = (address: string) => smtp.to(address).filter((m) => m.parsed.messageId?.startsWith("<daily-"));
    for (const email of daily) {
      const mail = await eventually(() => digestsTo(email)[0], 20_000, `the digest to ${email}`);
      expect(mail.parsed.text).toContain("Spread story two");
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const email of daily) expect(digestsTo(email)).toHaveLength(1);

    // Where the keys are: subscriber records (and every other shard key) on all three masters.
    const perMaster: Record<string, { all: number; shard: number; records: number; data: number }> = {};
    for (const node of masters(rt.redis)) {
      const name = `${node.options.host}:${node.options.port}`;
      const count = async (match: string) => {
        let n = 0;
        let cursor = "0";
        do {
          const [next, keys] = await node.scan(cursor, "MATCH", match, "COUNT", 1000);
          cursor = next;
          n += keys.length;
        } while (cursor !== "0");
        return n;
      };
      perMaster[name] = {
        all: await node.dbsize(),
        shard: await count(`{${stem}:s*`),
        records: await count(`{${stem}:s*}:sub:*`),
        data: await count(`${rt.config.prefix}:*`),
      };
    }
    console.log("keys per master (all / reader shards / subscriber records / {prefix}):", perMaster);
    expect(Object.keys(perMaster)).toHaveLength(3);
    for (const m of Object.values(perMaster)) expect(m.records).toBeGreaterThan(0);
    const records = Object.values(perMaster).reduce((n, m) => n + m.records, 0);
    expect(records).toBe(await store.count());
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

  it("moving the data's slot, a queue's slot and a reader shard's slot to another master during a run loses nothing", async () => {
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
    // And a reader shard's slot, while readers of that shard are written (compare-and-set
    // scripts over the record and its indexes, during ASK and TRYAGAIN).
    const store = new SubscriberService(rt).store;
    const shard = store.shards.of(subscriberId("after-move@example.org"));
    const shardSlot = await slotOf(store.shards.key(shard, "x"));
    const shardFrom = await cluster.ownerOf(shardSlot);
    const movers: string[] = [];
    for (let i = 0; movers.length < 6; i++)
      if (store.shards.of(subscriberId(`mover-${i}@example.org`)) === shard) movers.push(`mover-${i}@example.org`);
    let migrating = true;
    const writing = (async () => {
      const codes: number[] = [];
      for (let round = 0; migrating || round < 2; round++) {
        for (const email of movers) {
          const res = await herald.app.inject({
            method: "POST",
            url: "/api/subscribers",
            headers: { authorization: `Bearer ${TEST_TOKEN}` },
            payload: { email, frequency: "immediate", language: "en", confirmed: true, name: `Round ${round}` },
          });
          codes.push(res.statusCode);
        }
      }
      return codes;
    })();
    const movedData = await cluster.migrateSlot(dataSlot, other(dataFrom));
    const movedEmails = await cluster.migrateSlot(emailSlot, other(emailFrom));
    const movedShard = await cluster.migrateSlot(shardSlot, other(shardFrom));
    migrating = false;
    const codes = await publishing;
    const writes = await writing;
    console.log(
      `slot migration: ${movedData} data keys, ${movedEmails} emails-queue keys and ${movedShard} keys of reader shard ${shard} moved; API answers ${codes.join(",")}; ${writes.length} subscriber writes meanwhile`,
    );
    expect(movedData).toBeGreaterThan(10);
    expect(movedShard).toBeGreaterThan(3);
    expect(codes.every((c) => c === 202)).toBe(true);
    expect(writes.every((c) => c === 200 || c === 201)).toBe(true);
    expect(await cluster.ownerOf(shardSlot)).not.toBe(shardFrom);
    // Every write landed with its indexes: the shard's counts equal a recount.
    for (const s of await store.byEmails(movers)) expect(s).toMatchObject({ status: "confirmed" });
    const counted = await store.countByStatus();
    await store.recount();
    expect(await store.countByStatus()).toEqual(counted);
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
    for (const email of movers) await alertArrives(smtp, email, "moved");
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
    expect(status.releases).toBe(13);
    // Every subscriber, merged from the 16 shards oldest first, once each.
    const list = await runCli(["subscribers", "list", "--json"], {
      REDIS_CLUSTER_NODES: nodes,
      HERALD_PREFIX: rt.config.prefix,
      SECRET_KEY: TEST_SECRET,
    });
    expect(list.code, list.stderr).toBe(0);
    const listed = list.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; createdAt: string });
    expect(listed).toHaveLength(await new SubscriberService(rt).store.count());
    expect(new Set(listed.map((s) => s.id)).size).toBe(listed.length);
    expect(listed.map((s) => s.createdAt)).toEqual(listed.map((s) => s.createdAt).sort());
    // A different number of shards for this data is refused, with what to set.
    const other = await runCli(["status"], {
      REDIS_CLUSTER_NODES: nodes,
      HERALD_PREFIX: rt.config.prefix,
      SECRET_KEY: TEST_SECRET,
      REDIS_SHARDS: "4",
    });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(
      /REDIS_SHARDS=4 but the data under .* was written with 16 shard\(s\): set REDIS_SHARDS=16/,
    );
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
