// The send ledger: who has been sent which edition. Checked before sending and written once
// the SMTP server accepted, so a job run twice (BullMQ is at-least-once) sends nothing twice,
// and a reader is only recorded when the mail really left.
//   {p}:ledger:{edition}          set of subscriber ids the edition was accepted for. Alerts and
//                                 notices keep it 180 days: it is all that stops a re-run alert.
//                                 Digests keep it 2 days: a digest's lasting record is the reader's
//                                 cursor (written in the same transaction, and checked at send time
//                                 too), so the set only has to outlive the edition's retries; kept
//                                 180 days, 100,000 daily readers held ~1.2 GB of old ledgers.
//   {p}:alerted:{releaseId}       set of ids who received that release (any revision) as an alert:
//                                 correction notices go to these readers only
//   {p}:edition:{edition}         hash t.{segment}/sent/skipped/failed: progress for ops and benchmarks
//   {p}:story:{rootId}            hash subscriber id -> the alert edition that claimed the story for them
//   {p}:digest-cursor             hash id -> ms, moved only after a digest was accepted
import type { Redis } from "ioredis";
import { execOrThrow } from "../redis/pipeline.ts";
import { type KeyBuilder, keyBuilder } from "../redis/keys.ts";

const KEEP_S = 180 * 24 * 3600;
/** A digest edition's ledger: longer than any retry of its batches (minutes) and a day of ops looking. */
export const DIGEST_LEDGER_KEEP_S = 2 * 24 * 3600;

export interface Accepted {
  subscriberId: string;
  /** Alerts: the releases whose content the reader got (for later correction notices). */
  releaseIds?: string[];
  /** Digests: the newest publication time in it; the reader's cursor moves there. */
  cursor?: number;
}

export class Ledger {
  private readonly key: KeyBuilder;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = keyBuilder(prefix);
  }

  /** For each id, whether the edition was already accepted for it. */
  async sent(edition: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const r = (await this.redis.smismember(this.key("ledger", edition), ...ids)) as number[];
    return r.map((x) => x === 1);
  }

  /** Records accepted sends (one round trip, a handful of commands, for a group sent together). */
  async record(edition: string, accepted: Accepted[], keepSeconds = KEEP_S): Promise<void> {
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
    for (const [id, readers] of alerted) m.sadd(this.key("alerted", id), ...readers).expire(this.key("alerted", id), KEEP_S);
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
    m.expire(key, KEEP_S);
    m.hmget(key, ...ids);
    // A failed read must fail the send job (retry), never read as "claimed by another edition".
    const res = await execOrThrow(m);
    const owners = (res.at(-1) ?? []) as (string | null)[];
    return ids.map((_, i) => owners[i] === edition);
  }

  async alertedIds(releaseId: string): Promise<string[]> {
    return this.redis.smembers(this.key("alerted", releaseId));
  }

  /** Readers planned for one segment; set once per segment, so a re-run does not count them twice. */
  async planned(edition: string, segment: string, n: number): Promise<void> {
    await execOrThrow(this.redis.multi().hsetnx(this.key("edition", edition), `t.${segment}`, n).expire(this.key("edition", edition), 7 * 24 * 3600));
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
