// Memory bounded by design: every per-reader record of a send expires after a known time, the
// record that guards corrections and translations lives for the story's alert window only (and
// past it nothing more is sent for the story), facet indexes stay at FACET_INDEX_KEEP and a
// release keeps REVISIONS_KEPT old revisions, a queue's event stream EVENTS_KEPT entries. Real Redis and SMTP; the window runs on the
// injected clock, the TTLs are read from Redis.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EVENTS_KEPT, QUEUE } from "../../src/jobs/queues.ts";
import { runAlert } from "../../src/mail/alerts.ts";
import { ALERT_WINDOW_S, EDITION_KEEP_S } from "../../src/mail/ledger.ts";
import { SEGMENT_KEEP_S } from "../../src/mail/segments.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { FACET_INDEX_KEEP, REVISIONS_KEPT } from "../../src/releases/store.ts";
import { addReader, type MailEnv, mailEnv } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually } from "../helpers/runtime.ts";

let env: MailEnv;
beforeEach(async () => {
  env = await mailEnv({ label: "membound", now: "2026-11-28T10:00:00Z" });
});
afterEach(() => env.stop());

const DAY = 86_400_000;

describe("alert ledgers", () => {
  it("per-edition records expire in days; who had the story lives for the window, set once", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "a@example.org", frequency: "immediate" });
    await addReader(rt, { email: "b@example.org", frequency: "immediate" });
    env.start();
    await new ReleaseService(rt).publish(sampleRelease({ id: "ttl1" }));
    await eventually(() => smtp.messages.length === 2, 10_000, "two alerts");
    await env.drained();
    const edition = "alert-ttl1-r1";
    const ttl = async (k: string) => rt.redis.ttl(k);
    // Alert ledgers and story claims are bitmaps by reader number, kept for days.
    expect(await rt.redis.exists(rt.key("ledger", edition), rt.key("story", "ttl1"))).toBe(0);
    for (const k of [rt.key("ledger-bits", edition), rt.key("story-bits", "ttl1"), rt.key("claim-bits", edition)]) {
      expect(await ttl(k), k).toBeGreaterThan(EDITION_KEEP_S - 60);
      expect(await ttl(k), k).toBeLessThanOrEqual(EDITION_KEEP_S);
      expect(await rt.redis.bitcount(k), k).toBe(2);
    }
    expect(await ttl(rt.key("edition", edition))).toBeLessThanOrEqual(EDITION_KEEP_S);
    const segKeys = await rt.redis.keys(`${rt.key("segment", edition)}:*`);
    expect(segKeys.length).toBe(1);
    expect(await ttl(segKeys[0]!)).toBeLessThanOrEqual(SEGMENT_KEEP_S);
    expect(await ttl(segKeys[0]!)).toBeGreaterThan(SEGMENT_KEEP_S - 60);
    // The ledger outlives the segment: a batch that can still send always finds its ledger.
    expect(EDITION_KEEP_S).toBeGreaterThan(SEGMENT_KEEP_S);
    const bitsKey = rt.key("alerted-bits", "ttl1");
    const alerted = await ttl(bitsKey);
    expect(alerted).toBeGreaterThan(ALERT_WINDOW_S);
    expect(alerted).toBeLessThanOrEqual(ALERT_WINDOW_S + EDITION_KEEP_S);
    // One bit per reader: two readers, numbers 1 and 2 -> bits 1 and 2 set, a 1-byte bitmap.
    expect(await rt.redis.bitcount(bitsKey)).toBe(2);
    expect(await rt.redis.strlen(bitsKey)).toBe(1);
    expect(await rt.redis.exists(rt.key("alerted", "ttl1"))).toBe(0);
    // A later send to the story does not push the bitmap's expiry back (EXPIRE NX).
    await rt.redis.expire(bitsKey, 1000);
    await addReader(rt, { email: "c@example.org", frequency: "immediate", language: "fr" });
    await new ReleaseService(rt).publish(sampleRelease({ id: "ttl1-fr", language: "fr", translationOf: "ttl1" }));
    await eventually(() => smtp.to("c@example.org").length === 1, 10_000, "the translation's alert");
    await env.drained();
    expect(await ttl(bitsKey)).toBeLessThanOrEqual(1000);
    // The French reader is in both the story's and the translation's bitmap.
    expect(await rt.redis.bitcount(bitsKey)).toBe(3);
    expect(await rt.redis.bitcount(rt.key("alerted-bits", "ttl1-fr"))).toBe(1);
    // Not 180 days per reader anywhere: no key of this story outlives the window's margin.
    for (const k of await rt.redis.keys(`${rt.config.prefix}:*ttl1*`)) {
      expect(k).not.toMatch(/:alerted:/);
      const t = await rt.redis.ttl(k);
      if (k === rt.key("alert-window", "ttl1"))
        expect(t).toBe(-1); // a few bytes per story
      else expect(t, k).toBeLessThanOrEqual(ALERT_WINDOW_S + EDITION_KEEP_S);
    }
  });

  it("within the window a correction reaches earlier readers; past it, nothing more for the story (no second alert)", async () => {
    const { rt, smtp, clock } = env;
    await addReader(rt, { email: "early@example.org", frequency: "immediate" });
    await addReader(rt, { email: "fr@example.org", frequency: "immediate", language: "fr" });
    env.start();
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "win", title: "Window Story" }));
    await eventually(() => smtp.messages.length === 2, 10_000, "the alerts");
    clock.advance(29 * DAY);
    await svc.update("win", sampleRelease({ title: "Window Story (corrected)" }), "A figure was wrong.");
    await eventually(() => smtp.messages.length === 4, 10_000, "two notices inside the window");
    expect(smtp.to("early@example.org")[1]!.parsed.subject).toBe("Correction: Window Story (corrected)");
    // Past the window: a correction and a translation send nothing, even to readers of the language.
    clock.advance(2 * DAY);
    await svc.update("win", sampleRelease({ title: "Window Story (corrected again)" }), "Another figure.");
    await svc.publish(sampleRelease({ id: "win-fr", title: "Histoire", language: "fr", translationOf: "win" }));
    expect(await runAlert(rt, { releaseId: "win", revision: 3, event: "updated" })).toMatch(/past its alert window/);
    expect(await runAlert(rt, { releaseId: "win-fr", revision: 1, event: "published" })).toMatch(
      /past its alert window/,
    );
    await env.drained();
    expect(smtp.messages).toHaveLength(4);
    expect(smtp.to("fr@example.org")).toHaveLength(2);
  });

  it("a story whose first alert is still to come opens its window then, whatever its publication date", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "x@example.org", frequency: "immediate" });
    env.start();
    // Back-dated by a year: still alerts (the window runs from the first alert, not publishedAt).
    await new ReleaseService(rt).publish(sampleRelease({ id: "old", publishedAt: "2025-11-01T09:00:00Z" }));
    await eventually(() => smtp.to("x@example.org").length === 1, 10_000, "the alert");
    expect(Number(await rt.redis.get(rt.key("alert-window", "old")))).toBe(env.clock.now());
  });
});

describe("releases", () => {
  it(`keeps the current revision and ${REVISIONS_KEPT} before it; every event's revisions stay readable`, async () => {
    const { rt } = env;
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "revs", title: "Title 1" }));
    for (let i = 2; i <= 8; i++) await svc.update("revs", sampleRelease({ title: `Title ${i}` }), `change ${i}`);
    const fields = (await rt.redis.hkeys(rt.key("release", "revs", "revs"))).map(Number).sort((a, b) => a - b);
    expect(fields).toEqual([4, 5, 6, 7]);
    expect((await rt.releases.getRevision("revs", 8))?.title).toBe("Title 8");
    expect((await rt.releases.getRevision("revs", 7))?.title).toBe("Title 7");
    expect((await rt.releases.getRevision("revs", 4))?.title).toBe("Title 4");
    expect(await rt.releases.getRevision("revs", 3)).toBeNull();
    expect(await rt.releases.getRevision("revs", 9)).toBeNull();
    expect(await rt.releases.getRevision("nope", 1)).toBeNull();
  });

  it(`trims a facet's feed index to the ${FACET_INDEX_KEEP} newest; "all" keeps every release`, async () => {
    const { rt } = env;
    const svc = new ReleaseService(rt);
    const n = FACET_INDEX_KEEP + 5;
    for (let i = 0; i < n; i++) {
      const at = new Date(Date.parse("2026-11-01T00:00:00Z") + i * 60_000).toISOString();
      await svc.publish(sampleRelease({ id: `f${i}`, publishedAt: at, topics: ["health"], regions: [] }));
    }
    expect(await rt.redis.zcard(rt.key("idx", "topics/health"))).toBe(FACET_INDEX_KEEP);
    expect(await rt.redis.zcard(rt.key("idx", "languages/en"))).toBe(FACET_INDEX_KEEP);
    expect(await rt.redis.zcard(rt.key("idx", "all"))).toBe(n);
    // The oldest went, the newest stayed.
    expect(await rt.redis.zscore(rt.key("idx", "topics/health"), "f0")).toBeNull();
    expect(await rt.redis.zscore(rt.key("idx", "topics/health"), `f${n - 1}`)).not.toBeNull();
    const feed = await rt.releases.newest("topics/health", rt.config.feedSize);
    expect(feed.map((r) => r.id)[0]).toBe(`f${n - 1}`);
    expect(feed).toHaveLength(rt.config.feedSize);
  }, 60_000);
});

describe("partners' latest revisions", () => {
  it("drops a release's entry once it has been idle past the keep time, never one just raised", async () => {
    const { rt } = env;
    const { PartnerStore, LATEST_KEEP_MIN_MS } = await import("../../src/partners/store.ts");
    const store = new PartnerStore(rt.redis, rt.config.prefix);
    const latest = rt.key("partners", "p", "pa", "latest");
    const t0 = Date.parse("2026-11-01T00:00:00Z");
    await store.noteQueued(["pa"], { releaseId: "old", revision: 3, event: "updated" }, t0);
    await store.noteQueued(["pa"], { releaseId: "busy", revision: 1, event: "published" }, t0);
    // "busy" gets a newer event later: it is kept, "old" is not.
    await store.noteQueued(
      ["pa"],
      { releaseId: "busy", revision: 2, event: "updated" },
      t0 + LATEST_KEEP_MIN_MS - 1000,
    );
    expect(await rt.redis.hkeys(latest)).toEqual(expect.arrayContaining(["old", "busy"]));
    await store.noteQueued(
      ["pa"],
      { releaseId: "new", revision: 1, event: "published" },
      t0 + LATEST_KEEP_MIN_MS + 1000,
    );
    expect((await rt.redis.hkeys(latest)).sort()).toEqual(["busy", "new"]);
    expect(await rt.redis.zcard(rt.key("partners", "p", "pa", "latest-at"))).toBe(2);
    // The raise itself is intact: an older order key never lowers the entry.
    await store.noteQueued(
      ["pa"],
      { releaseId: "busy", revision: 1, event: "published" },
      t0 + LATEST_KEEP_MIN_MS + 2000,
    );
    const orderOf = async (r: string) => Number(await rt.redis.hget(latest, r));
    expect(await orderOf("busy")).toBeGreaterThan(0);
    const before = await orderOf("busy");
    await store.noteQueued(
      ["pa"],
      { releaseId: "busy", revision: 1, event: "published" },
      t0 + LATEST_KEEP_MIN_MS + 3000,
    );
    expect(await orderOf("busy")).toBe(before);
    // A longer retry schedule keeps entries longer.
    await store.noteQueued(["pb"], { releaseId: "slow", revision: 1, event: "published" }, t0, [5 * 86_400_000]);
    await store.noteQueued(
      ["pb"],
      { releaseId: "other", revision: 1, event: "published" },
      t0 + LATEST_KEEP_MIN_MS + 1000,
      [5 * 86_400_000],
    );
    expect(await rt.redis.hexists(rt.key("partners", "p", "pb", "latest"), "slow")).toBe(1);
  });
});

describe("alert bitmaps", () => {
  it("readers alerted before the bitmaps (an old set) are still known; an erased reader's number goes", async () => {
    const { rt, smtp } = env;
    const old = await addReader(rt, { email: "old@example.org", frequency: "immediate", language: "fr" });
    const fresh = await addReader(rt, { email: "fresh@example.org", frequency: "immediate" });
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "leg", title: "Legacy Story" }));
    // As an older Herald left it: "old" got the story, recorded in a set.
    await rt.redis.sadd(rt.key("alerted", "leg"), old.id);
    const { Ledger } = await import("../../src/mail/ledger.ts");
    const ledger = new Ledger(rt.redis, rt.config.prefix);
    expect(await ledger.alerted("leg", [old.id, fresh.id])).toEqual([true, false]);
    env.start();
    // The French translation skips "old" (had the story); the correction reaches both it and "fresh".
    await runAlert(rt, { releaseId: "leg", revision: 1, event: "published" });
    await eventually(() => smtp.to("fresh@example.org").length === 1, 10_000, "fresh's alert");
    expect(smtp.to("old@example.org")).toHaveLength(0);
    await svc.publish(sampleRelease({ id: "leg-fr", language: "fr", translationOf: "leg" }));
    await svc.update("leg", sampleRelease({ title: "Legacy Story (corrected)" }), "Fixed.");
    await eventually(
      () => smtp.to("old@example.org").length === 1 && smtp.to("fresh@example.org").length === 2,
      10_000,
      "the notices",
    );
    await env.drained();
    expect(smtp.to("old@example.org")[0]!.parsed.subject).toMatch(/Legacy Story \(corrected\)/);
    expect(smtp.messages).toHaveLength(3);
    // Erasing a reader erases its number.
    expect(await rt.redis.hexists(rt.key("reader-n"), fresh.id)).toBe(1);
    const { SubscriberService } = await import("../../src/subscribers/service.ts");
    await new SubscriberService(rt).store.erase(fresh.id);
    expect(await rt.redis.hexists(rt.key("reader-n"), fresh.id)).toBe(0);
  });
});

describe("alert ledgers as bitmaps", () => {
  it("a batch run twice sends once; an edition that lost the claim sends nothing; old sets and hashes still count", async () => {
    const { rt, smtp } = env;
    const a = await addReader(rt, { email: "ba@example.org", frequency: "immediate" });
    const b = await addReader(rt, { email: "bb@example.org", frequency: "immediate" });
    const c = await addReader(rt, { email: "bc@example.org", frequency: "immediate" });
    await new ReleaseService(rt).publish(sampleRelease({ id: "bm" }));
    const { runAlert: plan } = await import("../../src/mail/alerts.ts");
    await plan(rt, { releaseId: "bm", revision: 1, event: "published" });
    const { QUEUE } = await import("../../src/jobs/queues.ts");
    const { sendBatch } = await import("../../src/mail/send-emails.ts");
    const { Ledger } = await import("../../src/mail/ledger.ts");
    const job = (await rt.queues[QUEUE.emails].getJobs(["waiting"]))[0]!;
    // As an older Herald left things: "a" in the edition's old ledger set, "b" claimed by another edition.
    await rt.redis.sadd(rt.key("ledger", job.data.edition), a.id);
    await rt.redis.hset(rt.key("story", "bm"), b.id, "alert-bm-r1-late");
    expect(await sendBatch(rt, job.data)).toMatchObject({ sent: 1 });
    expect(await sendBatch(rt, job.data)).toMatchObject({ sent: 0 });
    expect(smtp.messages.map((m) => m.to.join())).toEqual(["bc@example.org"]);
    const ledger = new Ledger(rt.redis, rt.config.prefix);
    expect(await ledger.sent(job.data.edition, [a.id, b.id, c.id])).toEqual([true, false, true]);
    // Another edition of the story finds c claimed; the first keeps its claim on a retry.
    expect(await ledger.claimStory("bm", "alert-bm-r1-other", [c.id])).toEqual([false]);
    expect(await ledger.claimStory("bm", job.data.edition, [c.id])).toEqual([true]);
  });
});

describe("queues", () => {
  it(`keep about ${EVENTS_KEPT} entries of their event streams, not BullMQ's 10,000`, async () => {
    const q = env.rt.queues[QUEUE.websub];
    // No worker: each add writes one "added" (and one "waiting") entry to the stream.
    const jobs = Array.from({ length: 2 * EVENTS_KEPT }, (_, i) => ({ name: "ping", data: { urls: [`u${i}`] } }));
    for (let i = 0; i < jobs.length; i += 500) await q.addBulk(jobs.slice(i, i + 500));
    const events = `${env.rt.queuePrefix(QUEUE.websub)}:${QUEUE.websub}:events`;
    // Trimmed approximately (XADD MAXLEN ~): by whole stream nodes of up to 100 entries.
    expect(await env.rt.redis.xlen(events)).toBeGreaterThanOrEqual(EVENTS_KEPT);
    expect(await env.rt.redis.xlen(events)).toBeLessThanOrEqual(EVENTS_KEPT + 100);
  });
});
