// Reader shards on one Redis (the Cluster suite runs them over three masters): the number of
// shards is settled once per prefix and a different one refused; with several shards the
// subscriber store, the ledger and the mail paths behave exactly as with one.
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { collectStatus, formatStatus } from "../../src/cli/status.ts";
import { testConfig } from "../../src/config/index.ts";
import { jobId, QUEUE } from "../../src/jobs/queues.ts";
import { runAlert } from "../../src/mail/alerts.ts";
import { digestTick } from "../../src/mail/digests.ts";
import { Ledger } from "../../src/mail/ledger.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { createRuntime, resolveShards } from "../../src/runtime.ts";
import type { Subscriber } from "../../src/subscribers/model.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { addReader, type MailEnv, mailEnv } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, redisUrl, uniquePrefix } from "../helpers/runtime.ts";

/** The shards' keys are outside `{prefix}:*`, which the test helpers clean: removed here. */
async function dropShardKeys(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl());
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `{${prefix}:s*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
    await redis.del(`${prefix}:shards`);
  } finally {
    redis.disconnect();
  }
}

describe("the number of shards", () => {
  const redis = () => new Redis(redisUrl());

  it("is settled once per prefix: the first start records it; another is refused, unset takes it", async () => {
    const r = redis();
    const p = uniquePrefix("shards");
    try {
      expect(await resolveShards(r, p, undefined, false)).toBe(1);
      expect(await r.get(`${p}:shards`)).toBe("1");
      await expect(resolveShards(r, p, 4, false)).rejects.toThrow(
        `REDIS_SHARDS=4 but the data under ${p} was written with 1 shard(s): set REDIS_SHARDS=1 (or leave it unset)`,
      );
      const q = uniquePrefix("shards");
      expect(await resolveShards(r, q, 4, false)).toBe(4);
      expect(await resolveShards(r, q, undefined, true)).toBe(4);
      await expect(resolveShards(r, q, 16, true)).rejects.toThrow(/set REDIS_SHARDS=4/);
      // A fresh prefix on a cluster: 16 unless set.
      expect(await resolveShards(r, uniquePrefix("shards"), undefined, true)).toBe(16);
      await r.del(`${q}:shards`);
    } finally {
      r.disconnect();
    }
  });

  it("data from before shards (no record, readers present) is one shard: kept, and more refused", async () => {
    const r = redis();
    const p = uniquePrefix("shards");
    try {
      await r.zadd(`${p}:subs`, 1, "s1");
      await expect(resolveShards(r, p, 16, true)).rejects.toThrow(/written before shards, that is with 1 shard/);
      // A cluster that ran Herald before shards keeps its one shard when REDIS_SHARDS is unset.
      expect(await resolveShards(r, p, undefined, true)).toBe(1);
      expect(await r.get(`${p}:shards`)).toBe("1");
      // Cursors or reader numbers alone say the same.
      const c = uniquePrefix("shards");
      await r.hset(`${c}:digest-cursor`, "s1", "1");
      await expect(resolveShards(r, c, 4, false)).rejects.toThrow(/written before shards/);
      // A record that is not a number of shards is reported, not guessed around.
      await r.set(`${c}:shards`, "lots");
      await expect(resolveShards(r, c, undefined, false)).rejects.toThrow(
        `${c}:shards holds "lots", not a number of shards (1-256)`,
      );
      await r.del(`${p}:subs`, `${p}:shards`, `${c}:digest-cursor`, `${c}:shards`);
    } finally {
      r.disconnect();
    }
  });

  it("createRuntime refuses a different number with a clear error and closes its connection", async () => {
    const p = uniquePrefix("shards");
    const rt = await createRuntime({ config: testConfig({ prefix: p, redisShards: 3 }), redisUrl: redisUrl() });
    expect(rt.shards).toBe(3);
    expect(rt.keyPatterns()).toEqual([`${p}:*`, `{${p}:s[0-9][0-9]}:*`]);
    await rt.close();
    await expect(
      createRuntime({ config: testConfig({ prefix: p, redisShards: 2 }), redisUrl: redisUrl() }),
    ).rejects.toThrow(/REDIS_SHARDS=2 but the data under .* was written with 3 shard\(s\)/);
    await dropShardKeys(p);
  });
});

describe("four shards on one Redis", { timeout: 60_000 }, () => {
  let env: MailEnv;
  afterEach(async () => {
    const prefix = env.rt.config.prefix;
    await env.stop();
    await dropShardKeys(prefix);
  });

  it("store: writes, counts, lists, index walks, expiry and erasure over the shards", async () => {
    env = await mailEnv({ label: "shards4", config: { redisShards: 4 } });
    const { rt } = env;
    expect(rt.shards).toBe(4);
    const svc = new SubscriberService(rt);
    const store = svc.store;
    const emails = Array.from({ length: 40 }, (_, i) => `r${i}@example.org`);
    for (const [i, email] of emails.entries()) {
      rt.clock.now = () => Date.parse("2026-11-28T10:00:00Z") + i * 1000;
      await addReader(
        rt,
        { email, frequency: i % 2 ? "daily" : "immediate", timezone: i % 3 ? "Europe/Paris" : "Asia/Tokyo" },
        i % 4 !== 0,
      );
    }
    const ids = (await store.byEmails(emails)).map((s) => s!.id);
    expect(new Set(ids.map((id) => store.shards.of(id))).size).toBe(4);
    expect(await store.count()).toBe(40);
    expect(await store.countByStatus()).toEqual({ pending: 10, confirmed: 30 });
    // Oldest first across the shards, by page and as a walk.
    const listed = [...(await store.list(0, 15)), ...(await store.list(15, 100))].map((s) => s.email);
    expect(listed).toEqual(emails);
    const walked: string[] = [];
    for await (const page of store.walk(7)) walked.push(...page.map((s) => s.email));
    expect(walked).toEqual(emails);
    // Index walks see every shard.
    const daily: string[] = [];
    for await (const page of store.confirmedIds("daily")) daily.push(...page);
    expect(daily.sort()).toEqual(ids.filter((_, i) => i % 2 && i % 4 !== 0).sort());
    expect((await store.timezones("daily")).sort()).toEqual(["Asia/Tokyo", "Europe/Paris"]);
    // Pending readers, oldest first over the shards; the expiry sweep erases them everywhere.
    expect(await store.pendingSince(Date.now() + 1e12, 3)).toEqual([ids[0], ids[4], ids[8]]);
    rt.clock.now = () => Date.parse("2026-12-28T10:00:00Z");
    expect(await svc.expirePending(3)).toBe(10);
    expect(await store.countByStatus()).toEqual({ confirmed: 30 });
    expect(await store.count()).toBe(30);
    // A batch written in one go (imports): one pipeline per shard.
    const applied = await store.applyMany(
      ids.slice(1, 9).map((id) => ({ id, change: (cur) => (cur ? { ...cur, name: "Renamed" } : null) })),
    );
    expect(applied.map((a) => a.written)).toEqual([true, true, true, false, true, true, true, false]);
    expect((await store.getMany(ids.slice(1, 4))).map((s) => s?.name)).toEqual(["Renamed", "Renamed", "Renamed"]);
    // `herald status` says how many shards the readers are in, and counts them over all of them.
    const status = await collectStatus(rt);
    expect(status).toMatchObject({ shards: 4, subscribers: { confirmed: 30 } });
    expect(formatStatus(status)).toContain("subscribers: confirmed 30; readers' data in 4 shard(s) (REDIS_SHARDS)");
  });

  it("mail: alerts once per reader, corrections to who had it, and a digest, with ledgers split over shards", async () => {
    env = await mailEnv({ label: "shards4", config: { redisShards: 4 } });
    const { rt, smtp } = env;
    const readers: Subscriber[] = [];
    for (let i = 0; i < 24; i++)
      readers.push(
        await addReader(rt, {
          email: `m${i}@example.org`,
          frequency: i < 16 ? "immediate" : "daily",
          timezone: "Asia/Tokyo",
        }),
      );
    env.start([QUEUE.emails]);
    const releases = new ReleaseService(rt);
    await releases.publish(sampleRelease({ id: "sh1", title: "Sharded story", publishedAt: "2026-11-28T09:00:00Z" }));
    const first = await runAlert(rt, { releaseId: "sh1", revision: 1, event: "published" });
    expect(first).toMatchObject({ readers: 16 });
    const ledger = new Ledger(rt.redis, rt.config.prefix, rt.shards);
    await eventually(async () => (await ledger.progress("alert-sh1-r1")).sent === 16, 20_000, "16 alerts recorded");
    expect(await ledger.progress("alert-sh1-r1")).toMatchObject({ total: 16, sent: 16 });
    // Again: everyone has it (the ledger of every shard says so).
    expect(await runAlert(rt, { releaseId: "sh1", revision: 1, event: "published" })).toMatchObject({ readers: 0 });
    const immediate = readers.slice(0, 16).map((s) => s.id);
    expect(await ledger.alerted("sh1", immediate)).toEqual(immediate.map(() => true));
    const had: string[] = [];
    for await (const page of ledger.alertedIds("sh1")) had.push(...page);
    expect(had.sort()).toEqual([...immediate].sort());
    // A correction reaches exactly those readers.
    await releases.update(
      "sh1",
      sampleRelease({ id: "sh1", title: "Sharded story (corrected)", publishedAt: "2026-11-28T09:00:00Z" }),
      "a corrected figure",
    );
    expect(await runAlert(rt, { releaseId: "sh1", revision: 2, event: "updated" })).toMatchObject({ readers: 16 });
    // The daily digest at 08:00 Tokyo: the eight daily readers, each once.
    const [digest] = await digestTick(rt, Date.parse("2026-11-28T23:00:00Z"));
    expect(digest).toMatchObject({ readers: 8 });
    await eventually(
      () => readers.slice(16).every((s) => smtp.to(s.email).length === 1),
      20_000,
      "a digest to every daily reader",
    );
    await eventually(
      () => readers.slice(0, 16).every((s) => smtp.to(s.email).length === 2),
      20_000,
      "an alert and a notice to every immediate reader",
    );
    await new Promise((r) => setTimeout(r, 300));
    for (const s of readers) expect(smtp.to(s.email)).toHaveLength(s.frequency === "immediate" ? 2 : 1);
    // Each reader's cursor moved, in the reader's shard, with its ledger entry.
    expect(await new SubscriberService(rt).store.cursors(readers.slice(16).map((s) => s.id))).toEqual(
      readers.slice(16).map(() => Date.parse("2026-11-28T23:00:00Z")),
    );
    // Its last batch done, the digest's ledger is settled in every shard: one marker each, and
    // every reader reads as sent.
    const ledgers = ledger.shards.all().map((sh) => ledger.shards.key(sh, "ledger", digest!.edition));
    await eventually(
      async () => (await Promise.all(ledgers.map((k) => rt.redis.smembers(k)))).every((m) => m.join() === "*"),
      10_000,
      "the digest's ledger settled in every shard",
    );
    const daily = readers.slice(16).map((s) => s.id);
    expect(await ledger.sent(digest!.edition, daily)).toEqual(daily.map(() => true));
  });

  it("queued: an alert is planned by one job per shard, and each reader gets it once", async () => {
    env = await mailEnv({ label: "shards4", config: { redisShards: 4 } });
    const { rt, smtp } = env;
    const readers: Subscriber[] = [];
    for (let i = 0; i < 12; i++)
      readers.push(await addReader(rt, { email: `q${i}@example.org`, frequency: "immediate" }));
    env.start();
    await new ReleaseService(rt).publish(sampleRelease({ id: "qsh", title: "Queued sharded story" }));
    await eventually(() => readers.every((s) => smtp.to(s.email).length === 1), 20_000, "an alert to every reader");
    const ledger = new Ledger(rt.redis, rt.config.prefix, rt.shards);
    await eventually(async () => (await ledger.progress("alert-qsh-r1")).sent === 12, 20_000, "12 alerts recorded");
    // Planned per shard (parts s0…s3), the totals add up to the readers.
    expect(await ledger.progress("alert-qsh-r1")).toMatchObject({ total: 12, sent: 12 });
    const whole = await rt.queues[QUEUE.alerts].getJob(
      jobId.alert({ releaseId: "qsh", revision: 1, event: "published" }),
    );
    expect(whole?.returnvalue).toBe("planned by 4 jobs, one per reader shard");
    let planned = 0;
    for (let shard = 0; shard < 4; shard++) {
      const job = await rt.queues[QUEUE.alerts].getJob(
        jobId.alert({ releaseId: "qsh", revision: 1, event: "published", shard }),
      );
      expect(await job?.getState()).toBe("completed");
      planned += (job!.returnvalue as { readers: number }).readers;
    }
    expect(planned).toBe(12);
    await new Promise((r) => setTimeout(r, 300));
    for (const s of readers) expect(smtp.to(s.email)).toHaveLength(1);
  });
});
