// Digest send batches that carry many small segments (readers who chose among many topics form
// segments of one or two): each reader gets their own segment's digest once, a batch run again
// sends nothing, a batch whose run died part-way re-sends none of the readers already in the
// ledger, and once its last batch is done (not before) the edition leaves nothing per reader or
// segment: its segments and pieces are deleted and its ledger is settled to one marker, which
// still stops every later run of its batches, even one planned again from cursors that never moved.
import { afterEach, describe, expect, it } from "vitest";
import { type EmailBatchJob, QUEUE } from "../../src/jobs/queues.ts";
import { runDigest } from "../../src/mail/digests.ts";
import { Ledger } from "../../src/mail/ledger.ts";
import { sendBatch } from "../../src/mail/send-emails.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { subscriberId } from "../../src/subscribers/store.ts";
import { addReader, type MailEnv, mailEnv } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually } from "../helpers/runtime.ts";

const NOW = "2026-11-28T10:00:00Z";
const AT = Date.parse("2026-11-28T09:00:00Z");
const TOPICS = ["migration", "health", "shelter", "emergencies", "counter-trafficking"];
const LANGS = ["en", "fr", "es"] as const;
const READERS = 24;

let env: MailEnv | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

/** One story per topic; reader i wants the topics of the bits of i + 1 (so nearly every reader is a segment of their own). */
async function seed(e: MailEnv): Promise<{ emails: string[]; expected: Map<string, string[]> }> {
  const svc = new ReleaseService(e.rt);
  for (const [k, topic] of TOPICS.entries())
    await svc.publish(
      sampleRelease({
        id: `b${k}`,
        title: `Batch Story ${k}`,
        topics: [topic],
        publishedAt: new Date(AT - (k + 1) * 3600_000).toISOString(),
      }),
    );
  const emails: string[] = [];
  const expected = new Map<string, string[]>();
  for (let i = 0; i < READERS; i++) {
    const email = `reader${i}@batches.example`;
    const mask = (i % 31) + 1;
    const topics = TOPICS.filter((_, k) => (mask >> k) & 1);
    await addReader(e.rt, { email, frequency: "daily", language: LANGS[i % 3]!, topics });
    emails.push(email);
    expected.set(
      email,
      TOPICS.flatMap((t, k) => (topics.includes(t) ? [`Batch Story ${k}`] : [])),
    );
  }
  return { emails, expected };
}

async function queuedBatches(e: MailEnv): Promise<EmailBatchJob[]> {
  return (await e.rt.queues[QUEUE.emails].getJobs(["waiting", "delayed", "prioritized"])).map((j) => j.data);
}

describe("digest batches of many segments", { timeout: 180_000 }, () => {
  it("each reader gets their own digest once; a batch run again sends nothing; segments go after the last batch", async () => {
    // 10 readers a batch (EMAIL_RATE_PER_SECOND 10): 24 readers in 3 batches, whatever their segments.
    env = await mailEnv({ label: "dbatch", now: NOW, config: { emailRatePerSecond: 10 } });
    const { rt, smtp } = env;
    const { emails, expected } = await seed(env);
    const summary = await runDigest(rt, "daily", AT, { dryRun: false });
    expect(summary.segments.length).toBeGreaterThan(12);
    const batches = await queuedBatches(env);
    expect(batches).toHaveLength(3);
    for (const b of batches) {
      expect(b.subscriberIds.length).toBeLessThanOrEqual(10);
      expect(b.segments!.reduce((n, [, k]) => n + k, 0)).toBe(b.subscriberIds.length);
      expect(b.segment).toBe(b.segments![0]![0]);
    }
    expect(batches.every((b) => b.segments!.length > 1)).toBe(true);
    const segmentKeys = await rt.redis.keys(`${rt.key("segment", summary.edition)}:*`);
    expect(segmentKeys).toHaveLength(summary.segments.length);

    env.start([QUEUE.emails]);
    await eventually(
      async () => (await new Ledger(rt.redis, rt.config.prefix).progress(summary.edition)).sent === READERS,
      60_000,
      "every reader's digest",
    );
    for (const email of emails) {
      const got = smtp.to(email);
      expect({ email, n: got.length }).toEqual({ email, n: 1 });
      const text = got[0]!.parsed.text ?? "";
      const stories = TOPICS.map((_, k) => `Batch Story ${k}`).filter((t) => text.includes(t));
      expect({ email, stories }).toEqual({ email, stories: expected.get(email) });
    }
    // The last batch done, the edition's segments and pieces are gone, and its ledger is the
    // settled marker (one member, not one per reader); the cursors remain.
    const ledgerKey = rt.key("ledger", summary.edition);
    await eventually(
      async () => (await rt.redis.smembers(ledgerKey)).join() === "*",
      10_000,
      "the edition's ledger to be settled",
    );
    expect(await rt.redis.keys(`${rt.key("segment", summary.edition)}:*`)).toEqual([]);
    expect(await rt.redis.keys(`${rt.key("piece", summary.edition)}:*`)).toEqual([]);
    expect(await rt.redis.exists(rt.key("segments", summary.edition), rt.key("pieces", summary.edition))).toBe(0);
    expect(await rt.redis.ttl(ledgerKey)).toBeGreaterThan(24 * 3600);
    expect(await rt.redis.hlen(rt.key("digest-cursor"))).toBe(READERS);
    // Every batch again (a duplicate delivery of the job): nothing sent twice.
    await env.workers!.close();
    env.workers = null;
    for (const b of batches) expect(await sendBatch(rt, b)).toMatchObject({ sent: 0, failed: 0 });
    // Worse: the edition planned again from cursors that never moved (a planning part retried
    // with what it read before the sends), its segments stored anew. Only the settled ledger
    // stands between those batches and a second digest: it reads as "sent" for every reader, in
    // the check and in the lease step (a run of a batch still going after its job completed).
    await rt.redis.del(rt.key("digest-cursor"));
    await runDigest(rt, "daily", AT, { dryRun: false });
    expect((await rt.redis.keys(`${rt.key("segment", summary.edition)}:*`)).length).toBeGreaterThan(0);
    for (const b of batches) expect(await sendBatch(rt, b)).toMatchObject({ sent: 0, failed: 0, skipped: 0 });
    const ledger = new Ledger(rt.redis, rt.config.prefix);
    const all = batches.flatMap((b) => b.subscriberIds);
    expect((await ledger.lease(summary.edition, "late-run", 60_000, all)).states).toEqual(all.map(() => "done"));
    expect(smtp.messages).toHaveLength(READERS);
  });

  it("a batch whose run died after some sends re-sends none of them; the segments go once it completes", async () => {
    env = await mailEnv({ label: "dbcrash", now: NOW, config: { emailRatePerSecond: 100, sendLeaseMs: 1500 } });
    const { rt, smtp } = env;
    const { emails } = await seed(env);
    const summary = await runDigest(rt, "daily", AT, { dryRun: false });
    const [batch] = await queuedBatches(env);
    expect(batch!.subscriberIds).toHaveLength(READERS);
    expect(batch!.segments!.length).toBeGreaterThan(12);
    // The dead run: its first 6 readers (several segments) accepted and in the ledger, the next 4
    // leased (handed to SMTP or not, not recorded), the rest untouched.
    const ledger = new Ledger(rt.redis, rt.config.prefix);
    const sent = batch!.subscriberIds.slice(0, 6);
    const held = batch!.subscriberIds.slice(6, 10);
    await ledger.record(
      summary.edition,
      sent.map((subscriberId) => ({ subscriberId, cursor: AT })),
    );
    expect((await ledger.lease(summary.edition, "dead-run", 1500, held)).states).toEqual(held.map(() => "mine"));

    // The retry: every reader not in the ledger, the held ones once their leases run out.
    const first = await sendBatch(rt, batch!);
    expect(first).toMatchObject({ sent: READERS - 10, deferred: 4, skipped: 0, failed: 0 });
    expect(await rt.redis.keys(`${rt.key("segment", summary.edition)}:*`)).toHaveLength(summary.segments.length);
    await new Promise((r) => setTimeout(r, 1600));
    expect(await sendBatch(rt, batch!)).toMatchObject({ sent: 4, deferred: 0 });
    const emailOf = new Map(emails.map((e) => [subscriberId(e), e]));
    for (const id of sent) expect(smtp.to(emailOf.get(id)!)).toHaveLength(0);
    expect(smtp.messages).toHaveLength(READERS - 6);
    expect(new Set(smtp.messages.map((m) => m.to.join())).size).toBe(READERS - 6);

    // Through the queue: the job finds everyone done, completes, and the segments go.
    env.start([QUEUE.emails]);
    await eventually(
      async () => (await rt.redis.keys(`${rt.key("segment", summary.edition)}:*`)).length === 0,
      30_000,
      "the edition's segments to be deleted",
    );
    expect(smtp.messages).toHaveLength(READERS - 6);
  });
});
