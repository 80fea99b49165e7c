// Subscribers in Redis. Every key lives in the reader's shard (redis/shards.ts: `{p}` below is
// HERALD_PREFIX with one shard, `{stem:sNN}` with REDIS_SHARDS > 1), so each write below stays
// one atomic script on one slot; counts and index walks go over every shard:
//   {p}:sub:{id}                      JSON of the subscriber (with its `revision`)
//   {p}:subs                          zset id -> createdAt (every subscriber, any status)
//   {p}:subs:status:{status}          zset id -> time of the last write, one per status: the counts
//                                     (ZCARD) and, for "pending", the expiry sweep's order
//   {p}:subs:{frequency}              set of CONFIRMED ids with that frequency (alerts read "immediate")
//   {p}:subs:{frequency}:tzs          set of time zones that have (or had) confirmed readers
//   {p}:subs:{frequency}:tz:{zone}    set of confirmed ids of that frequency in that zone
//   {p}:digest-cursor                 hash id -> ms: the newest publication time already in a sent digest
//   {p}:reader-n                      hash id -> number: its bit in alert bitmaps (mail/ledger.ts); erased with it
//   {p}:confirm-sent:{mailbox id}     time of the last confirmation email to that mailbox (service.ts; expires in an hour)
// Only confirmed readers sit in the frequency indexes, so the digest tick reads just the zones
// whose local hour is the send hour, never every subscriber.
//
// Every write is a compare-and-set (src/redis/cas.ts, as for releases): the record, its status
// zset and its frequency indexes change in one script, only if the record is still at the
// revision the writer read. Writers pass a *change* (a function of the current record), not a
// finished record: on a conflict the store re-reads and applies the change again, so a decision
// is never made on a stale copy (an unsubscribe cannot be undone by a write that read before it).
// The counts are the sizes of the status zsets, which the same script moves: they cannot drift.
import { createHash } from "node:crypto";
import type { ChainableCommander, Redis } from "ioredis";
import {
  type DigestFrequency,
  emailKey,
  type Frequency,
  normalizeEmail,
  type Subscriber,
  type SubscriberStatus,
} from "./model.ts";
import { HeraldError } from "../errors.ts";
import { CasOps, casCommit, casCommitOn, defined } from "../redis/cas.ts";
import { execOrThrow } from "../redis/pipeline.ts";
import { Shards } from "../redis/shards.ts";

export const STATUSES: readonly SubscriberStatus[] = ["pending", "confirmed", "unsubscribed", "bounced", "complained"];

/** Before revisions: a hash status -> count, kept beside each write (it drifted). Replaced by the status zsets. */
const LEGACY_COUNTS = ["subs", "by-status"] as const;

/** Writes of this process that lost a race and were decided again on the newer record (for tests and logs). */
export const writeConflicts = { count: 0 };

/** A conflicting writer retries at most this often (each round, one writer of the record wins). */
const MAX_ATTEMPTS = 200;

/**
 * Puts one record in {p}:subs and in the status zset of its current status, and out of the
 * others; an id whose record is gone leaves every zset. KEYS: record, {p}:subs, the status zsets.
 * ARGV: id, createdAt score, score for a new status entry, then the statuses in KEYS order.
 */
const RECOUNT = `
local cur = redis.call('GET', KEYS[1])
local status = nil
if cur then
  status = cjson.decode(cur).status
  redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
for i = 3, #KEYS do
  if ARGV[i + 1] == status then redis.call('ZADD', KEYS[i], 'NX', ARGV[3], ARGV[1])
  else redis.call('ZREM', KEYS[i], ARGV[1]) end
end
return 1
`;

/**
 * A reader's id: a hash of emailKey(email), so every spelling of one address (case, spaces) is
 * one reader. Records made before addresses were case-folded have legacyId (the hash of the
 * address as typed, domain lower-cased); byEmail still finds them.
 */
export function subscriberId(email: string): string {
  return hashId(emailKey(email));
}

export function legacyId(email: string): string {
  return hashId(normalizeEmail(email));
}

function hashId(s: string): string {
  return `s${createHash("sha256").update(s).digest("hex").slice(0, 20)}`;
}

/**
 * What a writer wants done to the current record (null when there is none): the next record, or
 * null to write nothing ("already done"). It may throw (e.g. not found). It can run more than
 * once (after a conflict), so it must not have side effects.
 */
export type Change = (current: Subscriber | null) => Subscriber | null;

export interface Applied {
  /** The record the change was applied to. */
  previous: Subscriber | null;
  /** The record now stored (previous when nothing was written). */
  current: Subscriber | null;
  written: boolean;
}

/** A write that kept losing the race (409: nothing was changed; sending it again is safe). */
export class SubscriberConflictError extends HeraldError {
  constructor(message: string) {
    super("HERALD_CONFLICT", message, 409);
  }
}

export class SubscriberStore {
  readonly shards: Shards;

  /** `shards`: REDIS_SHARDS as the runtime settled it (rt.shards); 1 is the unsharded layout. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
    shards = 1,
  ) {
    defined(redis); // commits also go out in pipelines (applyMany, saveMany)
    this.shards = new Shards(prefix, shards);
  }

  /** A key in the shard of reader `id`. */
  private key(id: string, ...parts: string[]): string {
    return this.shards.keyOf(id, ...parts);
  }

  /** The confirmation throttle of a mailbox (service.ts): in the shard of the mailbox's id, erased with that reader. */
  confirmSentKey(mailboxId: string): string {
    return this.key(mailboxId, "confirm-sent", mailboxId);
  }

  async get(id: string): Promise<Subscriber | null> {
    const raw = await this.redis.get(this.key(id, "sub", id));
    return raw ? (JSON.parse(raw) as Subscriber) : null;
  }

  async byEmail(email: string): Promise<Subscriber | null> {
    return (await this.byEmails([email]))[0] ?? null;
  }

  /** Readers by address, in order (missing: null); a record kept under its legacyId counts. */
  async byEmails(emails: string[]): Promise<(Subscriber | null)[]> {
    const found = await this.getMany(emails.map(subscriberId));
    const retry = emails
      .map((e, i) => (found[i] === null && legacyId(e) !== subscriberId(e) ? i : -1))
      .filter((i) => i >= 0);
    if (retry.length === 0) return found;
    const legacy = await this.getMany(retry.map((i) => legacyId(emails[i]!)));
    retry.forEach((i, j) => {
      found[i] = legacy[j] ?? null;
    });
    return found;
  }

  /** Subscribers by id, in order; missing ones are null. */
  async getMany(ids: string[]): Promise<(Subscriber | null)[]> {
    if (ids.length === 0) return [];
    // One MGET per shard (a cluster refuses one across slots).
    const raws = await this.shards.map(ids, (_, page) => this.redis.mget(page.map((id) => this.key(id, "sub", id))));
    return raws.map((r) => (r ? (JSON.parse(r) as Subscriber) : null));
  }

  /** Applies `change` to the current record of `id`, atomically with its indexes; retried on conflict. */
  async apply(id: string, change: Change): Promise<Applied> {
    for (let attempt = 1; ; attempt++) {
      const previous = await this.get(id);
      const next = change(previous);
      if (!next) return { previous, current: previous, written: false };
      const stamped = this.stamp(id, next, previous);
      if (await casCommit(this.redis, this.stage(id, stamped, previous), previous?.revision ?? 0)) {
        return { previous, current: stamped, written: true };
      }
      await this.backoff(id, attempt);
    }
  }

  /**
   * apply() for many records in few round trips (imports): one read and one pipeline of commits
   * per shard (a cluster takes a pipeline to one slot's master only); the records another writer
   * changed meanwhile are retried one by one.
   */
  async applyMany(items: { id: string; change: Change }[]): Promise<Applied[]> {
    if (items.length === 0) return [];
    const previous = await this.getMany(items.map((i) => i.id));
    const out: (Applied | null)[] = items.map(() => null);
    const pipes = this.pipelines();
    const staged = new Map<number, Subscriber>();
    items.forEach(({ id, change }, i) => {
      const prev = previous[i] ?? null;
      const next = change(prev);
      if (!next) {
        out[i] = { previous: prev, current: prev, written: false };
        return;
      }
      const stamped = this.stamp(id, next, prev);
      casCommitOn(pipes.for(id, i), this.stage(id, stamped, prev), prev?.revision ?? 0);
      staged.set(i, stamped);
    });
    for (const [i, reply] of await pipes.exec()) {
      if (reply !== 1) writeConflicts.count++;
      out[i] =
        reply === 1
          ? { previous: previous[i] ?? null, current: staged.get(i)!, written: true }
          : await this.apply(items[i]!.id, items[i]!.change);
    }
    return out as Applied[];
  }

  /**
   * Writes `next` if the record is still `previous` (null: no record yet), else throws
   * SubscriberConflictError. For seeding whole records (tests, benchmarks); changes go through apply().
   */
  async save(next: Subscriber, previous: Subscriber | null): Promise<void> {
    await this.saveMany([{ next, previous }]);
  }

  /** Many saves in few round trips (one per shard); throws if any record had moved on (the others are written). */
  async saveMany(items: { next: Subscriber; previous: Subscriber | null }[]): Promise<void> {
    const pipes = this.pipelines();
    items.forEach(({ next, previous }, i) => {
      casCommitOn(
        pipes.for(next.id, i),
        this.stage(next.id, this.stamp(next.id, next, previous), previous),
        previous?.revision ?? 0,
      );
    });
    const lost = (await pipes.exec()).filter(([, r]) => r !== 1).length;
    if (lost)
      throw new SubscriberConflictError(
        `${lost} subscriber(s) changed while they were being saved; nothing else was lost, save again`,
      );
  }

  /** One pipeline per shard; exec() answers [item index, reply] for every command queued with for(). */
  private pipelines() {
    const byShard = new Map<number, { m: ChainableCommander; at: number[] }>();
    return {
      for: (id: string, i: number): ChainableCommander => {
        const sh = this.shards.of(id);
        let p = byShard.get(sh);
        if (!p) {
          p = { m: this.redis.pipeline(), at: [] };
          byShard.set(sh, p);
        }
        p.at.push(i);
        return p.m;
      },
      exec: async (): Promise<[number, unknown][]> => {
        const done = await Promise.all([...byShard.values()].map(async (p) => ({ p, r: await execOrThrow(p.m) })));
        return done
          .flatMap(({ p, r }) => p.at.map((i, k) => [i, r[k]] as [number, unknown]))
          .sort((a, b) => a[0] - b[0]);
      },
    };
  }

  /**
   * Erases a subscriber (GDPR, pending expiry): the record, its indexes, its digest cursor and its
   * confirmation throttle, atomically, if `when` holds for the current record. Returns what was erased.
   */
  async erase(id: string, when: (s: Subscriber) => boolean = () => true): Promise<Subscriber | null> {
    for (let attempt = 1; ; attempt++) {
      const previous = await this.get(id);
      if (previous && !when(previous)) return null;
      // No record: still clear stray index entries, but only if no record appears meanwhile.
      if (await casCommit(this.redis, this.stage(id, null, previous), previous?.revision ?? 0)) return previous;
      await this.backoff(id, attempt);
    }
  }

  /** Erases a subscriber (GDPR): see erase(). */
  async remove(s: Subscriber): Promise<void> {
    await this.erase(s.id);
  }

  private stamp(id: string, next: Subscriber, previous: Subscriber | null): Subscriber {
    return { ...next, id, revision: (previous?.revision ?? 0) + 1 };
  }

  private async backoff(id: string, attempt: number): Promise<void> {
    writeConflicts.count++;
    if (attempt >= MAX_ATTEMPTS)
      throw new SubscriberConflictError(`subscriber ${id} kept changing while this request ran; send it again`);
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** Math.min(attempt, 6))));
  }

  /** The commit that replaces `previous` (as read) by `next` (null: erase) with every index. */
  private stage(id: string, next: Subscriber | null, previous: Subscriber | null): CasOps {
    const ops = new CasOps(this.key(id, "sub", id));
    if (next) {
      ops.add("SET", this.key(id, "sub", id), JSON.stringify(next));
      ops.add("ZADD", this.key(id, "subs"), Date.parse(next.createdAt), id);
    } else {
      ops.add("DEL", this.key(id, "sub", id));
      ops.add("ZREM", this.key(id, "subs"), id);
      ops.add("HDEL", this.key(id, "digest-cursor"), id);
      // Its number in the alert bitmaps (mail/ledger.ts): its bits then belong to nobody.
      ops.add("HDEL", this.key(id, "reader-n"), id);
      ops.add("DEL", this.key(id, "confirm-sent", id));
      // From every status zset, also when the record is already gone (a stray entry).
      for (const st of STATUSES) ops.add("ZREM", this.key(id, "subs", "status", st), id);
    }
    if (next && previous && previous.status !== next.status)
      ops.add("ZREM", this.key(id, "subs", "status", previous.status), id);
    if (next) ops.add("ZADD", this.key(id, "subs", "status", next.status), Date.parse(next.updatedAt), id);
    if (previous?.status === "confirmed") {
      ops.add("SREM", this.key(id, "subs", previous.frequency), id);
      if (previous.frequency !== "immediate")
        ops.add("SREM", this.key(id, "subs", previous.frequency, "tz", previous.timezone), id);
    }
    if (next?.status === "confirmed") {
      ops.add("SADD", this.key(id, "subs", next.frequency), id);
      if (next.frequency !== "immediate") {
        ops.add("SADD", this.key(id, "subs", next.frequency, "tzs"), next.timezone);
        ops.add("SADD", this.key(id, "subs", next.frequency, "tz", next.timezone), id);
      }
    }
    return ops;
  }

  /**
   * Subscribers in order of creation, from `offset`. Each shard's {p}:subs is ordered the same
   * way, so this merges the first offset + limit of every shard (fine for the pages of the API
   * and CLI; a full export walks the shards instead).
   */
  async list(offset = 0, limit = 100): Promise<Subscriber[]> {
    const heads = await Promise.all(
      this.shards
        .all()
        .map((sh) => this.redis.zrange(this.shards.key(sh, "subs"), "0", String(offset + limit - 1), "WITHSCORES")),
    );
    const ids = mergeByScore(heads)
      .slice(offset, offset + limit)
      .map(([id]) => id);
    return (await this.getMany(ids)).filter((s): s is Subscriber => s !== null);
  }

  /**
   * Every subscriber in order of creation, in pages of about `batch`: each shard's {p}:subs is
   * read in pages and the shards merged, so a full export costs one pass whatever the number of
   * shards (list() with growing offsets would re-read every shard's head each page). Like
   * paging by offset, a reader created or erased meanwhile may be missed or seen twice.
   */
  async *walk(batch = 500): AsyncGenerator<Subscriber[]> {
    const heads = this.shards.all().map((sh) => ({ sh, next: 0, buf: [] as [string, number][], done: false }));
    const fill = async (h: (typeof heads)[number]) => {
      if (h.buf.length > 0 || h.done) return;
      const r = await this.redis.zrange(
        this.shards.key(h.sh, "subs"),
        String(h.next),
        String(h.next + batch - 1),
        "WITHSCORES",
      );
      h.next += batch;
      h.buf = mergeByScore([r]);
      h.done = h.buf.length < batch;
    };
    for (;;) {
      await Promise.all(heads.map(fill));
      const ids: string[] = [];
      while (ids.length < batch) {
        let best: (typeof heads)[number] | undefined;
        for (const h of heads) {
          const [id, score] = h.buf[0] ?? [];
          if (id === undefined) continue;
          const [bid, bscore] = best?.buf[0] ?? [];
          if (!best || score! < bscore! || (score === bscore && id < bid!)) best = h;
        }
        // A shard's buffer ran out: refill before comparing further (its next page may come first).
        if (!best || heads.some((h) => h.buf.length === 0 && !h.done)) break;
        ids.push(best.buf.shift()![0]);
      }
      if (ids.length === 0) {
        if (heads.every((h) => h.done && h.buf.length === 0)) return;
        continue;
      }
      const page = (await this.getMany(ids)).filter((x): x is Subscriber => x !== null);
      if (page.length > 0) yield page;
    }
  }

  async count(): Promise<number> {
    const n = await Promise.all(this.shards.all().map((sh) => this.redis.zcard(this.shards.key(sh, "subs"))));
    return n.reduce((a, b) => a + b, 0);
  }

  /** Subscribers per status (pending, confirmed, unsubscribed, bounced, complained); zero counts left out. */
  async countByStatus(): Promise<Record<string, number>> {
    const totals = STATUSES.map(() => 0);
    await Promise.all(
      this.shards.all().map(async (sh) => {
        let snap = await this.snapshot(sh);
        if (snap.legacy || snap.total !== snap.counts.reduce((a, b) => a + b, 0)) {
          await this.migrateShard(sh, true);
          snap = await this.snapshot(sh);
        }
        snap.counts.forEach((n, i) => {
          totals[i]! += n;
        });
      }),
    );
    return Object.fromEntries(STATUSES.map((st, i) => [st, totals[i]!]).filter(([, n]) => (n as number) > 0));
  }

  /** Every size of one shard at one instant (MULTI): a commit moves {p}:subs and a status zset together. */
  private async snapshot(shard: number): Promise<{ total: number; counts: number[]; legacy: boolean }> {
    const key = (...parts: string[]) => this.shards.key(shard, ...parts);
    const m = this.redis.multi();
    m.zcard(key("subs"));
    m.exists(key(...LEGACY_COUNTS));
    for (const st of STATUSES) m.zcard(key("subs", "status", st));
    const [total, legacy, ...counts] = (await execOrThrow(m)) as number[];
    return { total: total!, legacy: legacy === 1, counts };
  }

  /**
   * Data written before the status zsets held its counts in a hash: if that hash is still there
   * (or `force`), recount every record into the zsets, then drop it. Safe while others write
   * (each record is recounted in one script) and when several processes start at once
   * (recounting is idempotent). countByStatus() also recounts when the zsets do not add up to
   * {p}:subs, so counts heal themselves whatever wrote the data.
   */
  async migrateCounts(force = false): Promise<boolean> {
    const done = await Promise.all(this.shards.all().map((sh) => this.migrateShard(sh, force)));
    return done.some(Boolean);
  }

  private async migrateShard(shard: number, force: boolean): Promise<boolean> {
    const legacy = this.shards.key(shard, ...LEGACY_COUNTS);
    if (!force && (await this.redis.exists(legacy)) === 0) return false;
    await this.recountShard(shard);
    await this.redis.del(legacy);
    return true;
  }

  /** Rebuilds the status zsets from the records (every id in {p}:subs or in a status zset), shard by shard. */
  async recount(batch = 500): Promise<void> {
    for (const sh of this.shards.all()) await this.recountShard(sh, batch);
  }

  private async recountShard(shard: number, batch = 500): Promise<void> {
    const keys = [
      this.shards.key(shard, "subs"),
      ...STATUSES.map((st) => this.shards.key(shard, "subs", "status", st)),
    ];
    for (const zset of keys) await this.recountIdsOf(zset, keys, batch);
  }

  private async recountIdsOf(zset: string, keys: string[], batch: number): Promise<void> {
    // ZSCAN: every id present throughout is visited (perhaps twice: recounting is idempotent),
    // even while the script removes ids of vanished records.
    let cursor = "0";
    do {
      const [next, page] = await this.redis.zscan(zset, cursor, "COUNT", batch);
      cursor = next;
      const ids = page.filter((_, i) => i % 2 === 0);
      if (ids.length === 0) continue;
      const records = await this.getMany(ids);
      const m = this.redis.pipeline();
      ids.forEach((id, i) => {
        const ms = (iso?: string) => String(Date.parse(iso ?? "") || 0);
        m.eval(
          RECOUNT,
          1 + keys.length,
          this.key(id, "sub", id),
          ...keys,
          id,
          ms(records[i]?.createdAt),
          ms(records[i]?.updatedAt),
          ...STATUSES,
        );
      });
      await execOrThrow(m);
    } while (cursor !== "0");
  }

  /** Ids that have been pending, unchanged, since `cutoffMs` or earlier (oldest first, over every shard). */
  async pendingSince(cutoffMs: number, limit: number): Promise<string[]> {
    const heads = await Promise.all(
      this.shards
        .all()
        .map((sh) =>
          this.redis.zrangebyscore(
            this.shards.key(sh, "subs", "status", "pending"),
            "-inf",
            cutoffMs,
            "WITHSCORES",
            "LIMIT",
            0,
            limit,
          ),
        ),
    );
    return mergeByScore(heads)
      .slice(0, limit)
      .map(([id]) => id);
  }

  /**
   * Every confirmed reader id with this frequency, shard after shard, or of one `shard` (SSCAN:
   * no single huge reply).
   */
  async *confirmedIds(frequency: Frequency, batch = 1000, shard?: number): AsyncGenerator<string[]> {
    for (const sh of shard === undefined ? this.shards.all() : [shard])
      yield* this.scanSet(this.shards.key(sh, "subs", frequency), batch);
  }

  /** The time zones that have (or had) confirmed readers of this frequency, in any shard. */
  async timezones(frequency: DigestFrequency): Promise<string[]> {
    const sets = await Promise.all(
      this.shards.all().map((sh) => this.redis.smembers(this.shards.key(sh, "subs", frequency, "tzs"))),
    );
    return [...new Set(sets.flat())];
  }

  async *confirmedIdsInZone(frequency: DigestFrequency, zone: string, batch = 1000): AsyncGenerator<string[]> {
    for (const sh of this.shards.all()) yield* this.scanSet(this.shards.key(sh, "subs", frequency, "tz", zone), batch);
  }

  private async *scanSet(key: string, batch: number): AsyncGenerator<string[]> {
    let cursor = "0";
    do {
      const [next, ids] = await this.redis.sscan(key, cursor, "COUNT", batch);
      cursor = next;
      if (ids.length) yield ids;
    } while (cursor !== "0");
  }

  async cursors(ids: string[]): Promise<(number | null)[]> {
    if (ids.length === 0) return [];
    const raws = await this.shards.map(ids, (sh, page) =>
      this.redis.hmget(this.shards.key(sh, "digest-cursor"), ...page),
    );
    return raws.map((r) => (r === null ? null : Number(r)));
  }
}

/** Shards' [id, score, id, score…] replies (WITHSCORES) as one list of [id, score], by score then id. */
function mergeByScore(replies: string[][]): [string, number][] {
  const all: [string, number][] = [];
  for (const r of replies) for (let i = 0; i < r.length; i += 2) all.push([r[i]!, Number(r[i + 1])]);
  return all.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
