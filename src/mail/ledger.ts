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
//   {p}:lease:{edition}           hash subscriber id -> "{run token} {expiry ms, Redis time}": the
//                                 run of a batch that may hand this reader's message to SMTP now
//                                 (see lease() and src/mail/leases.ts); a field goes when the
//                                 send is in the ledger, when the run gives it back, or expires
import type { Redis } from "ioredis";
import { execOrThrow } from "../redis/pipeline.ts";
import { type KeyBuilder, keyBuilder } from "../redis/keys.ts";

/** What lease() found for one reader. */
export type LeaseState = "mine" | "busy" | "done";
const LEASE_STATES: LeaseState[] = ["busy", "mine", "done"];

// Leases readers of one edition for one run, atomically with the ledger check: a reader already
// in the ledger is "done" (2); one leased by another run until later than now is "busy" (0);
// otherwise (free, expired, or already this run's) the lease is (re)taken until now + ttl (1).
// Redis time, so every process agrees on expiry. The last element is the shortest time left on
// a busy lease (ms), or -1. KEYS: ledger, lease. ARGV: token, ttl ms, ids...
const LEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local out = {}
local wait = -1
for i = 3, #ARGV do
  local id = ARGV[i]
  local r = 1
  if redis.call('SISMEMBER', KEYS[1], id) == 1 then
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
    redis.defineCommand("heraldLease", { numberOfKeys: 2, lua: LEASE });
    redis.defineCommand("heraldLeaseRelease", { numberOfKeys: 1, lua: RELEASE });
  }
  return r as Redis & LedgerScripts;
}

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
  private readonly redis: Redis & LedgerScripts;
  private readonly key: KeyBuilder;

  constructor(redis: Redis, prefix: string) {
    this.redis = withScripts(redis);
    this.key = keyBuilder(prefix);
  }

  /** For each id, whether the edition was already accepted for it. */
  async sent(edition: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const r = (await this.redis.smismember(this.key("ledger", edition), ...ids)) as number[];
    return r.map((x) => x === 1);
  }

  /**
   * Leases these readers of an edition to the run holding `token` for `ttlMs` (or renews the
   * run's own leases), checking the ledger in the same step. See LEASE.
   */
  async lease(edition: string, token: string, ttlMs: number, ids: string[]): Promise<{ states: LeaseState[]; busyMs: number }> {
    if (ids.length === 0) return { states: [], busyMs: -1 };
    const r = await this.redis.heraldLease(this.key("ledger", edition), this.key("lease", edition), token, String(ttlMs), ...ids);
    return { states: r.slice(0, ids.length).map((x) => LEASE_STATES[x]!), busyMs: r[ids.length]! };
  }

  /** Gives back the leases `token` still holds on these readers (another run's stay). */
  async releaseLeases(edition: string, token: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.heraldLeaseRelease(this.key("lease", edition), token, ...ids);
  }

  /**
   * Records accepted sends (one round trip, a handful of commands, for a group sent together).
   * Their leases go in the same step: from here on the ledger is what says "sent".
   */
  async record(edition: string, accepted: Accepted[], keepSeconds = KEEP_S): Promise<void> {
    if (accepted.length === 0) return;
    const m = this.redis.multi();
    const ids = accepted.map((a) => a.subscriberId);
    m.sadd(this.key("ledger", edition), ...ids);
    m.expire(this.key("ledger", edition), keepSeconds);
    m.hdel(this.key("lease", edition), ...ids);
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
