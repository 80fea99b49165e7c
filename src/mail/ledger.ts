// The send ledger: who has been sent which edition. Checked before sending and written once
// the SMTP server accepted, so a job run twice (BullMQ is at-least-once) sends nothing twice,
// and a reader is only recorded when the mail really left.
// Memory is bounded by design: nothing here is kept per reader for long. What each key guards,
// and so how long it must live (docs/architecture.md has the measured bytes):
//   {p}:ledger:{edition}          set of subscriber ids the edition was accepted for. Guards the
//                                 edition's own send batches, which stop once their segment has
//                                 expired (2 days, segments.ts): kept EDITION_KEEP_S (3 days).
//                                 A re-run of an alert's planning is stopped by {p}:alerted, a
//                                 digest's by the reader's cursor. Correction notices keep theirs
//                                 for the story's alert window (a correction re-planned later must
//                                 still find it).
//   {p}:alerted:{releaseId}       set of ids who received that release (any revision) as an alert:
//                                 correction notices go to these readers only, and a translation's
//                                 alert skips them (one alert per story). The one record that has
//                                 to outlive the sends: kept for the story's alert window
//                                 (ALERT_WINDOW_S, 30 days from the story's first alert, plus a
//                                 margin), then the whole set expires at once.
//   {p}:alert-window:{rootId}     ms of the story's first alert planning (a few bytes per story, no
//                                 TTL): once ALERT_WINDOW_S has passed, the story sends no more
//                                 alerts or correction notices (alerts.ts), because {p}:alerted,
//                                 which makes them safe, is about to be forgotten.
//   {p}:edition:{edition}         hash t.{segment}[.{part}]/sent/skipped/failed: progress for ops
//                                 and benchmarks, kept EDITION_KEEP_S
//   {p}:story:{rootId}            hash subscriber id -> the alert edition that claimed the story for
//                                 them; it only arbitrates between editions whose batches are in
//                                 flight at once (original, translation, late pass), so it lives as
//                                 long as a batch can: EDITION_KEEP_S
//   {p}:digest-cursor             hash id -> ms, moved only after a digest was accepted (per
//                                 subscriber, lives with the subscriber)
import type { Redis } from "ioredis";
import { execOrThrow } from "../redis/pipeline.ts";

const DAY_S = 24 * 3600;
/** An edition's ledger, claims and progress: longer than its segments (2 days), so every batch that can still send finds them. */
export const EDITION_KEEP_S = 3 * DAY_S;
/** A digest edition's ledger: longer than any retry of its batches (minutes) and a day of ops looking. */
export const DIGEST_LEDGER_KEEP_S = 2 * DAY_S;
/**
 * How long after its first accepted alert a story may still send alerts (translations, late
 * passes) and correction notices. Past it Herald no longer remembers who had the story, so it
 * sends nothing rather than risk a second alert. A correction a month later is a page update,
 * not news: feeds and partners still get every revision.
 */
export const ALERT_WINDOW_S = 30 * DAY_S;
/** {p}:alerted outlives the window by the longest a batch planned inside it can still send. */
const ALERTED_KEEP_S = ALERT_WINDOW_S + EDITION_KEEP_S;

/** The ledger of a correction notice must outlive every re-planning of it: the alert window. */
function keepFor(edition: string): number {
  return edition.startsWith("correction-") ? ALERTED_KEEP_S : EDITION_KEEP_S;
}

export interface Accepted {
  subscriberId: string;
  /** Alerts: the releases whose content the reader got (for later correction notices). */
  releaseIds?: string[];
  /** Digests: the newest publication time in it; the reader's cursor moves there. */
  cursor?: number;
}

export class Ledger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(":");
  }

  /** For each id, whether the edition was already accepted for it. */
  async sent(edition: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const r = (await this.redis.smismember(this.key("ledger", edition), ...ids)) as number[];
    return r.map((x) => x === 1);
  }

  /** Records accepted sends (one round trip, a handful of commands, for a group sent together). */
  async record(edition: string, accepted: Accepted[], keepSeconds = keepFor(edition)): Promise<void> {
    if (accepted.length === 0) return;
    const m = this.redis.multi();
    m.sadd(this.key("ledger", edition), ...accepted.map((a) => a.subscriberId));
    m.expire(this.key("ledger", edition), keepSeconds);
    const alerted = new Map<string, string[]>();
    const cursors: string[] = [];
    for (const a of accepted) {
      for (const id of a.releaseIds ?? []) {
        const readers = alerted.get(id) ?? [];
        readers.push(a.subscriberId);
        alerted.set(id, readers);
      }
      if (a.cursor !== undefined) cursors.push(a.subscriberId, String(a.cursor));
    }
    for (const [id, readers] of alerted) {
      // NX: the TTL is set by the first send and never pushed back, so the set goes at a known
      // time (window + margin after the story's first alert) however many sends follow.
      m.sadd(this.key("alerted", id), ...readers).call("EXPIRE", this.key("alerted", id), ALERTED_KEEP_S, "NX");
    }

    if (cursors.length > 0) m.hset(this.key("digest-cursor"), ...cursors);
    m.hincrby(this.key("edition", edition), "sent", accepted.length);
    await execOrThrow(m);
  }

  async alerted(releaseId: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const r = (await this.redis.smismember(this.key("alerted", releaseId), ...ids)) as number[];
    return r.map((x) => x === 1);
  }

  /**
   * One alert per story and reader, even when the original and a translation are fanned out at
   * the same moment (both plans are made before either is sent). Claimed atomically just before
   * sending: the first edition to claim a reader keeps them; a retry of that edition still
   * finds its own claim. Returns, for each id, whether this edition may send to them.
   */
  async claimStory(rootId: string, edition: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const key = this.key("story", rootId);
    const m = this.redis.multi();
    for (const id of ids) m.hsetnx(key, id, edition);
    m.expire(key, EDITION_KEEP_S);
    m.hmget(key, ...ids);
    // A failed read must fail the send job (retry), never read as "claimed by another edition".
    const res = await execOrThrow(m);
    const owners = (res.at(-1) ?? []) as (string | null)[];
    return ids.map((_, i) => owners[i] === edition);
  }

  /**
   * Opens the story's alert window at `nowMs` unless it is open already; returns when it opened.
   * Set before the first alert of the story is queued, so {p}:alerted (whose TTL its first send
   * starts) never expires before the window closes.
   */
  async openAlertWindow(rootId: string, nowMs: number): Promise<number> {
    const res = await execOrThrow(this.redis.multi().set(this.key("alert-window", rootId), String(nowMs), "NX").get(this.key("alert-window", rootId)));
    return Number(res[1]);
  }

  /** When the story's alert window opened, or null if it never had an alert. */
  async alertWindowOpened(rootId: string): Promise<number | null> {
    const v = await this.redis.get(this.key("alert-window", rootId));
    return v === null ? null : Number(v);
  }

  async alertedIds(releaseId: string): Promise<string[]> {
    return this.redis.smembers(this.key("alerted", releaseId));
  }

  /** Readers planned for one segment; set once per segment, so a re-run does not count them twice. */
  async planned(edition: string, segment: string, n: number): Promise<void> {
    await execOrThrow(this.redis.multi().hsetnx(this.key("edition", edition), `t.${segment}`, n).expire(this.key("edition", edition), EDITION_KEEP_S));
  }

  async count(edition: string, field: "skipped" | "failed", n: number): Promise<void> {
    if (n > 0) await this.redis.hincrby(this.key("edition", edition), field, n);
  }

  async progress(edition: string): Promise<{ total: number; sent: number; skipped: number; failed: number }> {
    const h = await this.redis.hgetall(this.key("edition", edition));
    const n = (k: string) => Number(h[k] ?? 0);
    const total = Object.entries(h).reduce((sum, [k, v]) => (k.startsWith("t.") ? sum + Number(v) : sum), 0);
    return { total, sent: n("sent"), skipped: n("skipped"), failed: n("failed") };
  }
}
