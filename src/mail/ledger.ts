// The send ledger: who has been sent which edition. Checked before sending and written once
// the SMTP server accepted, so a job run twice (BullMQ is at-least-once) sends nothing twice,
// and a reader is only recorded when the mail really left.
// Memory is bounded by design: nothing here is kept per reader for long. What each key guards,
// and so how long it must live (docs/architecture.md has the measured bytes). Every key that
// names readers lives in each reader shard (redis/shards.ts: `{p}` is then `{stem:sNN}`), holding
// that shard's readers, so each atomic step below is on one slot; only {p}:alert-window and the
// planned/skipped/failed fields of {p}:edition are global (on HERALD_PREFIX). Reader numbers
// are per shard, and so are the bitmaps by them.
//   {p}:ledger-bits:{edition}     alerts and notices: bitmap by reader number ({p}:reader-n) of the
//                                 readers the edition was accepted for (125 KB per edition at 1M
//                                 numbered readers, however many got it); lifetime as below
//   {p}:ledger:{edition}          digests: set of subscriber ids the edition was accepted for (and
//                                 alerts' ledgers written before the bitmaps, still read). Guards the
//                                 edition's own send batches, which stop once their segment has
//                                 expired (2 days, segments.ts): kept EDITION_KEEP_S (3 days). Once
//                                 every batch of a digest edition is done (segments.ts, fanoutStep)
//                                 it is settled: the set becomes the one member SETTLED ("*"),
//                                 which reads as "sent" for every reader, kept DIGEST_LEDGER_KEEP_S
//                                 (see settle()).
//                                 A re-run of an alert's planning is stopped by {p}:alerted, a
//                                 digest's by the reader's cursor. Correction notices keep theirs
//                                 for the story's alert window (a correction re-planned later must
//                                 still find it).
//   {p}:alerted-bits:{releaseId} bitmap, one bit per reader number ({p}:reader-n): who received
//                                 that release (any revision) as an alert. Correction notices go to
//                                 these readers only, and a translation's alert skips them (one
//                                 alert per story). The one record that has to outlive the sends:
//                                 kept for the story's alert window (ALERT_WINDOW_S, 30 days from the
//                                 story's first alert, plus a margin), then it expires at once. A bit
//                                 per reader ever numbered (125 KB per release at 1M), where a set
//                                 cost ~64 B per reader who got it.
//   {p}:alerted:{releaseId}       the same as a set of ids, as written before the bitmaps: still read
//                                 (never written) until those expire
//   {p}:reader-n                  hash subscriber id -> a small number, given the first time a reader
//                                 is recorded as alerted (its bit); erased with the subscriber
//   {p}:reader-n:next             the last number given (numbers are never reused)
//   {p}:alert-window:{rootId}     ms of the story's first alert planning (a few bytes per story, no
//                                 TTL): once ALERT_WINDOW_S has passed, the story sends no more
//                                 alerts or correction notices (alerts.ts), because {p}:alerted,
//                                 which makes them safe, is about to be forgotten.
//   {p}:edition:{edition}         hash t.{segment}[.{part}]/sent/skipped/failed: progress for ops
//                                 and benchmarks, kept EDITION_KEEP_S. With shards, "sent" is
//                                 counted in each shard's copy (in the step that writes the
//                                 ledger, so it stays exact) and progress() adds them up
//   {p}:story-bits:{rootId}       bitmap by reader number: the story is claimed for the reader by some
//   {p}:claim-bits:{edition}      alert edition, and by this one (claimStory). They only arbitrate
//                                 between editions whose batches are in flight at once (original,
//                                 translation, late pass), so they live as long as a batch can:
//                                 EDITION_KEEP_S. ({p}:story:{rootId}, the hash id -> edition they
//                                 replace, is still read until it expires.)
//   {p}:digest-cursor             hash id -> ms, moved only after a digest was accepted (per
//                                 subscriber, lives with the subscriber)
//   {p}:lease:{edition}           hash subscriber id -> "{run token} {expiry ms, Redis time}": the
//                                 run of a batch that may hand this reader's message to SMTP now
//                                 (see lease() and src/mail/leases.ts); a field goes when the
//                                 send is in the ledger, when the run gives it back, or expires
import type { Redis } from "ioredis";
import { execOrThrow } from "../redis/pipeline.ts";
import { type KeyBuilder, keyBuilder } from "../redis/keys.ts";
import { Shards } from "../redis/shards.ts";
import { oncePerRuntime, type Runtime } from "../runtime.ts";

/** What lease() found for one reader. */
export type LeaseState = "mine" | "busy" | "done";
const LEASE_STATES: LeaseState[] = ["busy", "mine", "done"];

/**
 * The one member of a settled digest ledger (settle()): every reader the edition was for is
 * settled. Never a subscriber id (those are "s" and hex).
 */
const SETTLED = "*";

// Leases readers of one edition for one run, atomically with the ledger check: a reader already
// in the ledger is "done" (2); one leased by another run until later than now is "busy" (0);
// otherwise (free, expired, or already this run's) the lease is (re)taken until now + ttl (1).
// Redis time, so every process agrees on expiry. The last element is the shortest time left on
// a busy lease (ms), or -1. A settled edition (settle()) is "done" for everyone. KEYS: ledger set,
// lease, ledger bitmap, reader numbers (alerts and notices keep their ledger as a bitmap by reader
// number: see record()). ARGV: token, ttl ms, ids...
const LEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local settled = redis.call('SISMEMBER', KEYS[1], '${SETTLED}') == 1
local out = {}
local wait = -1
for i = 3, #ARGV do
  local id = ARGV[i]
  local r = 1
  local n = redis.call('HGET', KEYS[4], id)
  if settled or redis.call('SISMEMBER', KEYS[1], id) == 1 or (n and redis.call('GETBIT', KEYS[3], tonumber(n)) == 1) then
    r = 2
  else
    local v = redis.call('HGET', KEYS[2], id)
    if v then
      local sp = string.find(v, ' ', 1, true)
      local left = tonumber(string.sub(v, sp + 1)) - now
      if string.sub(v, 1, sp - 1) ~= ARGV[1] and left > 0 then
        r = 0
        if wait < 0 or left < wait then wait = left end
      end
    end
    if r == 1 then redis.call('HSET', KEYS[2], id, ARGV[1] .. ' ' .. (now + ttl)) end
  end
  out[#out + 1] = r
end
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
out[#out + 1] = wait
return out
`;

// Gives back this run's leases (and only this run's). KEYS: lease. ARGV: token, ids...
const RELEASE = `
local n = 0
for i = 2, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then
    redis.call('HDEL', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
`;

interface LedgerScripts {
  heraldLease(...args: string[]): Promise<number[]>;
  heraldLeaseRelease(...args: string[]): Promise<number>;
}

function withScripts(redis: Redis): Redis & LedgerScripts {
  const r = redis as Redis & Partial<LedgerScripts>;
  if (!r.heraldLease) {
    redis.defineCommand("heraldLease", { numberOfKeys: 4, lua: LEASE });
    redis.defineCommand("heraldLeaseRelease", { numberOfKeys: 1, lua: RELEASE });
  }
  return r as Redis & LedgerScripts;
}

const DAY_S = 24 * 3600;
/** An edition's ledger, claims and progress: longer than its segments (2 days), so every batch that can still send finds them. */
export const EDITION_KEEP_S = 3 * DAY_S;
/** A digest edition's ledger, then its settled marker (settle()): longer than any retry of its batches (minutes) and a day of ops looking. */
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

/** KEYS: {p}:reader-n, {p}:reader-n:next. ARGV: ids. Returns each id's number, giving new ones. */
const NUMBER = `
local out = {}
for i, id in ipairs(ARGV) do
  local n = redis.call('HGET', KEYS[1], id)
  if not n then
    n = redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[1], id, n)
  end
  out[i] = tonumber(n)
end
return out
`;
const NUMBER_COMMAND = "heraldReaderNumbers";
type NumberCommand = (k1: string, k2: string, ...ids: string[]) => Promise<number[]>;

/**
 * KEYS: story bits, this edition's claim bits, the old story hash. ARGV: edition, keep (s), then
 * id, number pairs. Per reader 1 when this edition holds the claim (taking it when free), else 0.
 */
const CLAIM = `
local out = {}
for i = 3, #ARGV, 2 do
  local n = tonumber(ARGV[i + 1])
  local old = redis.call('HGET', KEYS[3], ARGV[i])
  if old then
    out[#out + 1] = (old == ARGV[1]) and 1 or 0
  elseif redis.call('GETBIT', KEYS[1], n) == 0 then
    redis.call('SETBIT', KEYS[1], n, 1)
    redis.call('SETBIT', KEYS[2], n, 1)
    out[#out + 1] = 1
  else
    out[#out + 1] = redis.call('GETBIT', KEYS[2], n)
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return out
`;
const CLAIM_COMMAND = "heraldClaimStory";
type ClaimCommand = (k1: string, k2: string, k3: string, ...args: string[]) => Promise<number[]>;

/** Alerts and correction notices keep their ledgers as bitmaps; digests (one per reader a day) as sets. */
function bitEdition(edition: string): boolean {
  return edition.startsWith("alert-") || edition.startsWith("correction-");
}

/** BITFIELD arguments are sent in chunks of this many readers. */
const BITS_CHUNK = 1000;

export class Ledger {
  private readonly redis: Redis & LedgerScripts;
  /** Global keys (HERALD_PREFIX): the alert window, the edition's planned/skipped/failed. */
  private readonly key: KeyBuilder;
  /** The reader shards its keys are split into (the fan-out sorts batches by them). */
  readonly shards: Shards;

  /** `shards`: rt.shards (1: the unsharded layout). */
  constructor(redis: Redis, prefix: string, shards = 1) {
    this.redis = withScripts(redis);
    this.key = keyBuilder(prefix);
    this.shards = new Shards(prefix, shards);
  }

  /** A key of reader shard `shard`. */
  private sk(shard: number, ...parts: string[]): string {
    return this.shards.key(shard, ...parts);
  }

  /** Each reader's number in its shard (its bit in that shard's bitmaps), given on first use. */
  private async numbers(ids: string[]): Promise<Map<string, number>> {
    if (!(NUMBER_COMMAND in this.redis)) this.redis.defineCommand(NUMBER_COMMAND, { numberOfKeys: 2, lua: NUMBER });
    const redis = this.redis as unknown as Record<string, NumberCommand>;
    const out = new Map<string, number>();
    for (const [sh, g] of this.shards.group(ids)) {
      for (let i = 0; i < g.ids.length; i += BITS_CHUNK) {
        const page = g.ids.slice(i, i + BITS_CHUNK);
        const ns = await redis[NUMBER_COMMAND]!(this.sk(sh, "reader-n"), this.sk(sh, "reader-n", "next"), ...page);
        page.forEach((id, j) => {
          out.set(id, Number(ns[j]));
        });
      }
    }
    return out;
  }

  /** Readers' numbers where they have one (null: never numbered, so in no bitmap); ids of one shard. */
  private async knownNumbers(shard: number, ids: string[]): Promise<(number | null)[]> {
    return ((await this.redis.hmget(this.sk(shard, "reader-n"), ...ids)) as (string | null)[]).map((n) =>
      n === null ? null : Number(n),
    );
  }

  private async bitsOf(key: string, numbers: (number | null)[]): Promise<boolean[]> {
    const out: boolean[] = numbers.map(() => false);
    const at = numbers.flatMap((n, i) => (n === null ? [] : [i]));
    for (let i = 0; i < at.length; i += BITS_CHUNK) {
      const page = at.slice(i, i + BITS_CHUNK);
      // GET u1 n for each: one bit each. (ioredis' typing wants the first GET spelled out.)
      const rest = page.slice(1).flatMap((j) => ["GET", "u1", String(numbers[j])]);
      const r = (await this.redis.bitfield_ro(key, "GET", "u1", String(numbers[page[0]!]), ...rest)) as number[];
      page.forEach((j, k) => {
        out[j] = r[k] === 1;
      });
    }
    return out;
  }

  /** For each id, whether the edition was already accepted for it (every id, once the edition is settled). */
  async sent(edition: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    return this.shards.map(ids, async (sh, page) => {
      const r = (await this.redis.smismember(this.sk(sh, "ledger", edition), ...page, SETTLED)) as number[];
      if (r.pop() === 1) return page.map(() => true);
      if (!bitEdition(edition)) return r.map((x) => x === 1);
      const bits = await this.bitsOf(this.sk(sh, "ledger-bits", edition), await this.knownNumbers(sh, page));
      return r.map((x, i) => x === 1 || bits[i] === true);
    });
  }

  /**
   * Leases these readers of an edition to the run holding `token` for `ttlMs` (or renews the
   * run's own leases), checking the ledger (set or bitmap) in the same step. See LEASE.
   */
  async lease(
    edition: string,
    token: string,
    ttlMs: number,
    ids: string[],
  ): Promise<{ states: LeaseState[]; busyMs: number }> {
    if (ids.length === 0) return { states: [], busyMs: -1 };
    // One script per shard: each reader's lease and ledger entry are in its shard.
    let busyMs = -1;
    const states = await this.shards.map(ids, async (sh, page) => {
      const r = await this.redis.heraldLease(
        this.sk(sh, "ledger", edition),
        this.sk(sh, "lease", edition),
        this.sk(sh, "ledger-bits", edition),
        this.sk(sh, "reader-n"),
        token,
        String(ttlMs),
        ...page,
      );
      const wait = r[page.length]!;
      if (wait >= 0 && (busyMs < 0 || wait < busyMs)) busyMs = wait;
      return r.slice(0, page.length).map((x) => LEASE_STATES[x]!);
    });
    return { states, busyMs };
  }

  /** Gives back the leases `token` still holds on these readers (another run's stay). */
  async releaseLeases(edition: string, token: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.shards.map(ids, async (sh, page) => {
      await this.redis.heraldLeaseRelease(this.sk(sh, "lease", edition), token, ...page);
      return page;
    });
  }

  /**
   * Records accepted sends (one round trip per reader shard, a handful of commands, for a group
   * sent together). Their leases go in the same step: from here on the ledger is what says "sent".
   * Each shard's step is a MULTI on that shard's slot; when one fails the job retries, and the
   * readers of the shards already written are found "done" then (nothing is sent twice).
   */
  async record(edition: string, accepted: Accepted[], keepSeconds = keepFor(edition)): Promise<void> {
    if (accepted.length === 0) return;
    const byShard = new Map<number, Accepted[]>();
    for (const a of accepted) {
      const sh = this.shards.of(a.subscriberId);
      const group = byShard.get(sh);
      if (group) group.push(a);
      else byShard.set(sh, [a]);
    }
    await Promise.all([...byShard].map(([sh, group]) => this.recordShard(sh, edition, group, keepSeconds)));
  }

  private async recordShard(shard: number, edition: string, accepted: Accepted[], keepSeconds: number): Promise<void> {
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
    const bits = bitEdition(edition);
    const numbers =
      alerted.size > 0 || bits
        ? await this.numbers([...new Set([...accepted.map((a) => a.subscriberId), ...[...alerted.values()].flat()])])
        : new Map<string, number>();
    const m = this.redis.multi();
    const ledgerKey = this.sk(shard, bits ? "ledger-bits" : "ledger", edition);
    if (bits)
      m.call(
        "BITFIELD",
        ledgerKey,
        ...accepted.flatMap((a) => ["SET", "u1", String(numbers.get(a.subscriberId)), "1"]),
      );
    else m.sadd(ledgerKey, ...accepted.map((a) => a.subscriberId));
    m.expire(ledgerKey, keepSeconds);
    m.hdel(this.sk(shard, "lease", edition), ...accepted.map((a) => a.subscriberId));
    // The TTL is set by the first send and never pushed back, so the bitmap goes at a known time
    // (window + margin after the story's first alert) however many sends follow. (Read first
    // rather than EXPIRE NX, which Redis 6.2 lacks; two first writers set the same TTL.)
    const alertedKeys = [...alerted.keys()].map((id) => this.sk(shard, "alerted-bits", id));
    const ttls =
      alertedKeys.length > 0
        ? ((await execOrThrow(alertedKeys.reduce((p, k) => p.ttl(k), this.redis.pipeline()))) as number[])
        : [];
    [...alerted.values()].forEach((readers, i) => {
      const key = alertedKeys[i]!;
      m.call("BITFIELD", key, ...readers.flatMap((r) => ["SET", "u1", String(numbers.get(r)), "1"]));
      if (ttls[i]! < 0) m.expire(key, ALERTED_KEEP_S);
    });

    if (cursors.length > 0) m.hset(this.sk(shard, "digest-cursor"), ...cursors);
    // One shard: the edition's own hash, as always. Several: this shard's copy (progress() adds them).
    const progress = this.sk(shard, "edition", edition);
    m.hincrby(progress, "sent", accepted.length);
    if (this.shards.n > 1) m.expire(progress, EDITION_KEEP_S);
    await execOrThrow(m);
  }

  /**
   * Settles a digest edition once every batch of it is done (segments.ts, fanoutStep): its ledger
   * set, one member per reader it was accepted for, becomes the one member SETTLED, which reads as
   * "sent" for every reader (sent(), and the lease step) for DIGEST_LEDGER_KEEP_S more.
   * Why no reader can get the edition twice: until now the set said who had it. From now on no
   * run of the edition sends anybody: not a run of a batch still going after its job completed
   * elsewhere (a stalled worker: its next lease step finds the edition done), not the batches of
   * a planning part run again (a retry after a crash), even for readers the edition skipped
   * (their cursor did not move: their next digest has these stories). Each bucket's ledger is
   * swapped in one step, so a lease step sees either the full set or the marker, never neither.
   */
  async settle(edition: string): Promise<void> {
    for (const sh of this.shards.all()) {
      const key = this.sk(sh, "ledger", edition);
      await execOrThrow(this.redis.multi().del(key).sadd(key, SETTLED).expire(key, DIGEST_LEDGER_KEEP_S));
    }
  }

  /** For each id, whether the reader received the release as an alert (within its window). */
  async alerted(releaseId: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    return this.shards.map(ids, async (sh, page) => {
      const legacy = (await this.redis.smismember(this.sk(sh, "alerted", releaseId), ...page)) as number[];
      const bits = await this.bitsOf(this.sk(sh, "alerted-bits", releaseId), await this.knownNumbers(sh, page));
      return page.map((_, i) => bits[i] === true || legacy[i] === 1);
    });
  }

  /**
   * One alert per story and reader, even when the original and a translation are fanned out at
   * the same moment (both plans are made before either is sent). Claimed atomically just before
   * sending: the first edition to claim a reader keeps them; a retry of that edition still
   * finds its own claim. Returns, for each id, whether this edition may send to them.
   */
  async claimStory(rootId: string, edition: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const numbers = await this.numbers(ids);
    if (!(CLAIM_COMMAND in this.redis)) this.redis.defineCommand(CLAIM_COMMAND, { numberOfKeys: 3, lua: CLAIM });
    const redis = this.redis as unknown as Record<string, ClaimCommand>;
    // A failed call must fail the send job (retry), never read as "claimed by another edition".
    // Each reader's claim is in its shard (bits by its shard's number): one script per shard.
    return this.shards.map(ids, async (sh, page) => {
      const mine = await redis[CLAIM_COMMAND]!(
        this.sk(sh, "story-bits", rootId),
        this.sk(sh, "claim-bits", edition),
        this.sk(sh, "story", rootId),
        edition,
        String(EDITION_KEEP_S),
        ...page.flatMap((id) => [id, String(numbers.get(id))]),
      );
      return page.map((_, i) => mine[i] === 1);
    });
  }

  /**
   * Opens the story's alert window at `nowMs` unless it is open already; returns when it opened.
   * Set before the first alert of the story is queued, so {p}:alerted (whose TTL its first send
   * starts) never expires before the window closes.
   */
  async openAlertWindow(rootId: string, nowMs: number): Promise<number> {
    const res = await execOrThrow(
      this.redis
        .multi()
        .set(this.key("alert-window", rootId), String(nowMs), "NX")
        .get(this.key("alert-window", rootId)),
    );
    return Number(res[1]);
  }

  /** When the story's alert window opened, or null if it never had an alert. */
  async alertWindowOpened(rootId: string): Promise<number | null> {
    const v = await this.redis.get(this.key("alert-window", rootId));
    return v === null ? null : Number(v);
  }

  /**
   * Everyone who received the release as an alert (of one reader `shard`, or all), in batches:
   * walks the numbered readers (those ever alerted) and keeps those whose bit is set. An id may
   * come twice (old set and bitmap).
   */
  async *alertedIds(releaseId: string, shard?: number): AsyncGenerator<string[]> {
    for (const sh of shard === undefined ? this.shards.all() : [shard]) {
      const legacy = await this.redis.smembers(this.sk(sh, "alerted", releaseId));
      if (legacy.length > 0) yield legacy;
      const bitsKey = this.sk(sh, "alerted-bits", releaseId);
      if ((await this.redis.exists(bitsKey)) === 0) continue;
      let cursor = "0";
      do {
        const [next, flat] = await this.redis.hscan(this.sk(sh, "reader-n"), cursor, "COUNT", BITS_CHUNK);
        cursor = next;
        const ids = flat.filter((_, i) => i % 2 === 0);
        const bits = await this.bitsOf(bitsKey, flat.filter((_, i) => i % 2 === 1).map(Number));
        const had = ids.filter((_, i) => bits[i]);
        if (had.length > 0) yield had;
      } while (cursor !== "0");
    }
  }

  /** Readers planned for one segment; set once per segment, so a re-run does not count them twice. */
  async planned(edition: string, segment: string, n: number): Promise<void> {
    await execOrThrow(
      this.redis
        .multi()
        .hsetnx(this.key("edition", edition), `t.${segment}`, n)
        .expire(this.key("edition", edition), EDITION_KEEP_S),
    );
  }

  async count(edition: string, field: "skipped" | "failed", n: number): Promise<void> {
    if (n > 0) await this.redis.hincrby(this.key("edition", edition), field, n);
  }

  async progress(edition: string): Promise<{ total: number; sent: number; skipped: number; failed: number }> {
    const h = await this.redis.hgetall(this.key("edition", edition));
    const n = (k: string) => Number(h[k] ?? 0);
    const total = Object.entries(h).reduce((sum, [k, v]) => (k.startsWith("t.") ? sum + Number(v) : sum), 0);
    // With shards, "sent" is counted in each shard's copy of the hash (see record()).
    const sent =
      this.shards.n === 1
        ? n("sent")
        : (
            await Promise.all(this.shards.all().map((sh) => this.redis.hget(this.sk(sh, "edition", edition), "sent")))
          ).reduce((a, v) => a + Number(v ?? 0), 0);
    return { total, sent, skipped: n("skipped"), failed: n("failed") };
  }
}

/** What reaching the send ledger takes: the runtime's connection, its prefix and its reader shards. */
export type LedgerDeps = Pick<Runtime, "redis" | "config" | "shards">;

/**
 * The runtime's one Ledger, built the first time it is asked for (runtime.ts, oncePerRuntime).
 * It holds nothing of its own between calls (its connection, keys and shards), so every job of
 * the process shares it.
 */
export const ledgerOf = oncePerRuntime((rt: LedgerDeps) => new Ledger(rt.redis, rt.config.prefix, rt.shards));
