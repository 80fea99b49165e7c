// Partners in Redis. Every key lives under {p}:partners:
//   all                     zset id -> created (ms)
//   p:{id}                  hash: config (JSON, with the secret), status, disabledReason, disabledAt
//   p:{id}:log              list, newest first, last 100 delivery attempts (JSON)
//   p:{id}:dead             hash delivery key -> dead letter (JSON)
//   p:{id}:latest           hash release id -> newest order key queued for this partner
//   p:{id}:latest-at        zset release id -> when its newest event was queued (ms): an entry of
//                           `latest` only matters while an older delivery of that release can
//                           still be queued or retrying, so entries idle longer than the keep
//                           time (noteQueued: twice the retry schedule, at least 7 days) are
//                           dropped, in the same script that raises, 100 at a time
//   p:{id}:history          zset "release|revision|event" -> time first queued (replay --since)
//   p:{id}:inflight         zset run (job id + run token) -> slot expiry (ms, Redis time)
//   p:{id}:lock:{release}   string: the run holding this release's delivery lease
//   p:{id}:delivered        zset delivery job id -> when a run of it was answered 2xx (kept 7 days):
//                           a second run of the same job (a stalled worker's job taken over, a
//                           fan-out re-run adding the job again) does not POST it again
// Status lives in its own hash fields so disabling never rewrites (or races with) the config.
import type { Redis } from "ioredis";
import type { ReleaseEvent } from "../vocabulary.ts";
import { execOrThrow } from "../redis/pipeline.ts";
import { scanAll } from "../redis/scan.ts";
import type { Partner, PartnerStatus } from "./model.ts";
import { type KeyBuilder, keyBuilder } from "../redis/keys.ts";
import { oncePerRuntime, type Runtime } from "../runtime.ts";

export const LOG_SIZE = 100;
const HISTORY_SIZE = 10_000;
const DELIVERED_KEEP_MS = 7 * 24 * 3600_000;

export interface DeliveryLogEntry {
  at: string;
  releaseId: string;
  revision: number;
  event: ReleaseEvent;
  webhookId: string;
  /** HTTP status, or null when no answer came (refused, timeout, network error). */
  status: number | null;
  durationMs: number;
  attempt: number;
  outcome: "delivered" | "failed" | "gone" | "refused" | "superseded";
  error?: string;
}

export interface DeadLetter {
  releaseId: string;
  revision: number;
  event: ReleaseEvent;
  webhookId: string;
  status: number | null;
  error: string;
  attempts: number;
  at: string;
}

export interface HistoryEntry {
  releaseId: string;
  revision: number;
  event: ReleaseEvent;
  at: number;
}

/**
 * Order of deliveries for one partner and release: by revision, and within a revision an
 * embargoed event before the published one that lifts it.
 */
export function orderKey(revision: number, event: ReleaseEvent): number {
  return revision * 2 + (event === "embargoed" ? 0 : 1);
}

/** The per-partner name of one delivery: release, revision, event. */
export function deliveryKey(e: { releaseId: string; revision: number; event: ReleaseEvent }): string {
  return `${e.releaseId}-r${e.revision}-${e.event}`;
}

// KEYS: latest, latest-at. ARGV: release id, order key, now (ms), keep (ms). Raising and trimming
// in one script: a trim can never drop an entry that a raise just made current.
const RAISE = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[4]), 'LIMIT', 0, 100)
for _, r in ipairs(old) do
  redis.call('HDEL', KEYS[1], r)
  redis.call('ZREM', KEYS[2], r)
end
return 1
`;

/** The shortest time an idle release's `latest` entry is kept (see the key list above). */
export const LATEST_KEEP_MIN_MS = 7 * 24 * 3600_000;

// Takes the release lease (one request in flight per partner and release, so revisions arrive
// in order, and one run of a delivery at a time, so a stalled worker and the run that took its
// job over do not both POST) and a partner slot (at most N requests in flight per partner, so a
// slow partner cannot fill every worker slot). Leases use Redis time: they must agree across
// processes. KEYS: inflight, lock, latest, delivered. ARGV: run, slot ms, max in flight, release,
// order key, job id, lease ms.
// Returns 1 (go), 0 (partner busy), -1 (this release is being delivered by another run),
// -2 (superseded: a newer revision or event of this release is queued for this partner),
// -3 (another run of this job was already answered 2xx).
const ACQUIRE = `
if redis.call('ZSCORE', KEYS[4], ARGV[6]) then return -3 end
local latest = tonumber(redis.call('HGET', KEYS[3], ARGV[4]) or '-1')
if latest > tonumber(ARGV[5]) then return -2 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return -1 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[7])
return 1
`;

// Just before the POST: is the release lease still this run's? Extends it and the slot if so.
// A run paused past its lease (its job taken over meanwhile) learns here that it must not POST.
// KEYS: inflight, lock. ARGV: run, slot ms, lease ms. Returns 1 (still ours) or 0.
const RENEW = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
`;

// Ends an attempt in one round trip: gives the lease back, logs the attempt, sets or clears the
// dead letter and, after a 2xx, notes the job as delivered (before the lease is free, so no
// other run of the job can find the lease free and the delivery unrecorded).
// KEYS: inflight, lock, log, dead, delivered. ARGV: run, log entry, log size, dead-letter field,
// dead-letter JSON ("" to clear the field, "-" to leave it), delivered job id ("" if not), keep ms.
const FINISH = `
if ARGV[6] ~= '' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[5], now, ARGV[6])
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[7]))
end
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if ARGV[2] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[2])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
end
if ARGV[5] == '' then redis.call('HDEL', KEYS[4], ARGV[4])
elseif ARGV[5] ~= '-' then redis.call('HSET', KEYS[4], ARGV[4], ARGV[5]) end
return 1
`;

interface PartnerScripts {
  heraldPartnerRaise(
    latest: string,
    latestAt: string,
    field: string,
    value: string,
    now: string,
    keepMs: string,
  ): Promise<number>;
  heraldPartnerAcquire(...args: string[]): Promise<number>;
  heraldPartnerRenew(...args: string[]): Promise<number>;
  heraldPartnerFinish(...args: string[]): Promise<number>;
}

/** Registers the scripts once per connection (ioredis then sends EVALSHA, not the script text). */
function withScripts(redis: Redis): Redis & PartnerScripts {
  const r = redis as Redis & Partial<PartnerScripts>;
  if (!r.heraldPartnerAcquire) {
    redis.defineCommand("heraldPartnerRaise", { numberOfKeys: 2, lua: RAISE });
    redis.defineCommand("heraldPartnerAcquire", { numberOfKeys: 4, lua: ACQUIRE });
    redis.defineCommand("heraldPartnerRenew", { numberOfKeys: 2, lua: RENEW });
    redis.defineCommand("heraldPartnerFinish", { numberOfKeys: 5, lua: FINISH });
  }
  return r as Redis & PartnerScripts;
}

/** How an attempt ended, for finish(): what to log and what to do with the dead letter. */
export interface AttemptRecord {
  log?: DeliveryLogEntry;
  /** Record this dead letter, or clear the delivery's dead letter (true), or leave it (undefined). */
  deadLetter?: DeadLetter | "clear";
  /** The partner answered 2xx: no other run of this job may POST it again. */
  delivered?: boolean;
}

/** How long a run holds what acquire() gives it (ms). */
export interface LeaseTimes {
  /** The partner slot (isolation: a dead run's slot frees after this). */
  slotMs: number;
  /** The release lease (a dead run's delivery is retried after this; a paused run keeps it this long). */
  leaseMs: number;
}

export class PartnerStore {
  private readonly redis: Redis & PartnerScripts;

  private readonly key: KeyBuilder;

  constructor(redis: Redis, prefix: string) {
    this.redis = withScripts(redis);
    this.key = keyBuilder(prefix, "partners");
  }

  private pk(id: string, ...rest: string[]): string {
    return this.key("p", id, ...rest);
  }

  async create(p: Partner): Promise<void> {
    const { status, disabledReason, disabledAt, ...config } = p;
    await execOrThrow(
      this.redis
        .multi()
        .hset(this.pk(p.id), {
          config: JSON.stringify(config),
          status,
          disabledReason: disabledReason ?? "",
          disabledAt: disabledAt ?? "",
        })
        .zadd(this.key("all"), Date.parse(p.createdAt), p.id),
    );
  }

  async get(id: string): Promise<Partner | null> {
    return parsePartner(await this.redis.hgetall(this.pk(id)));
  }

  async list(): Promise<Partner[]> {
    const ids = await this.redis.zrange(this.key("all"), "0", "-1");
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.pk(id));
    // A failed HGETALL must fail the caller (fan-out retries), never read as "no such partner".
    const rows = await execOrThrow(pipe);
    return rows.map((h) => parsePartner(h as Record<string, string>)).filter((p): p is Partner => p !== null);
  }

  /** Replaces the signing secret; `previous` keeps the old one signing until its time. */
  async setSecret(id: string, secret: string, previous?: { secret: string; until: string }): Promise<boolean> {
    const raw = await this.redis.hget(this.pk(id), "config");
    if (!raw) return false;
    const config = JSON.parse(raw) as Record<string, unknown>;
    config.secret = secret;
    if (previous) {
      config.previousSecret = previous.secret;
      config.previousSecretUntil = previous.until;
    } else {
      delete config.previousSecret;
      delete config.previousSecretUntil;
    }
    await this.redis.hset(this.pk(id), "config", JSON.stringify(config));
    return true;
  }

  async setStatus(id: string, status: PartnerStatus, reason: string, at: string): Promise<void> {
    if (!(await this.redis.exists(this.pk(id)))) return;
    await this.redis.hset(this.pk(id), {
      status,
      disabledReason: status === "disabled" ? reason : "",
      disabledAt: status === "disabled" ? at : "",
    });
  }

  /** Deletes the partner and everything kept for it. Returns false when there was none. */
  async remove(id: string): Promise<boolean> {
    const existed = await this.redis.zrem(this.key("all"), id);
    // Every master: on a Redis Cluster one SCAN sees one node.
    const locks = await scanAll(this.redis, this.pk(id, "lock", "*"));
    await this.redis.del(
      this.pk(id),
      this.pk(id, "log"),
      this.pk(id, "dead"),
      this.pk(id, "latest"),
      this.pk(id, "latest-at"),
      this.pk(id, "history"),
      this.pk(id, "inflight"),
      this.pk(id, "delivered"),
      ...locks,
    );
    return existed === 1;
  }

  /**
   * Records that an event was queued for these partners: raises each one's newest order key
   * for the release (before the delivery job exists, so an older delivery that starts later
   * sees it) and keeps the event in the replay history (first time only).
   */
  async noteQueued(
    partnerIds: string[],
    e: { releaseId: string; revision: number; event: ReleaseEvent },
    at: number,
    retryScheduleMs: number[] = [],
  ): Promise<void> {
    if (partnerIds.length === 0) return;
    // An older delivery of the release waits at most the whole retry schedule (+20 % jitter), each
    // attempt possibly pushed to a partner's Retry-After (at most a day): keep well past that.
    const keep = Math.max(LATEST_KEEP_MIN_MS, 2 * retryScheduleMs.reduce((a, b) => a + Math.max(b, 86_400_000), 0));
    const pipe = this.redis.pipeline();
    const member = `${e.releaseId}|${e.revision}|${e.event}`;
    for (const id of partnerIds) {
      (pipe as unknown as PartnerScripts).heraldPartnerRaise(
        this.pk(id, "latest"),
        this.pk(id, "latest-at"),
        e.releaseId,
        String(orderKey(e.revision, e.event)),
        String(at),
        String(keep),
      );
      pipe.zadd(this.pk(id, "history"), "NX", String(at), member);
      pipe.zremrangebyrank(this.pk(id, "history"), 0, -HISTORY_SIZE - 1);
    }
    await execOrThrow(pipe);
  }

  async history(id: string, sinceMs = 0): Promise<HistoryEntry[]> {
    const rows = await this.redis.zrangebyscore(this.pk(id, "history"), sinceMs, "+inf", "WITHSCORES");
    const out: HistoryEntry[] = [];
    for (let i = 0; i < rows.length; i += 2) {
      const [releaseId, revision, event] = rows[i]!.split("|");
      out.push({
        releaseId: releaseId!,
        revision: Number(revision),
        event: event as ReleaseEvent,
        at: Number(rows[i + 1]),
      });
    }
    return out;
  }

  /** `run`: this run of job `jobId` (unique per run: see ACQUIRE). */
  async acquire(
    id: string,
    d: { releaseId: string; revision: number; event: ReleaseEvent },
    run: { jobId: string; holder: string },
    times: LeaseTimes,
    maxInFlight: number,
  ): Promise<"ok" | "partner-busy" | "release-busy" | "superseded" | "delivered"> {
    const r = await this.redis.heraldPartnerAcquire(
      this.pk(id, "inflight"),
      this.pk(id, "lock", d.releaseId),
      this.pk(id, "latest"),
      this.pk(id, "delivered"),
      run.holder,
      String(times.slotMs),
      String(maxInFlight),
      d.releaseId,
      String(orderKey(d.revision, d.event)),
      run.jobId,
      String(times.leaseMs),
    );
    return r === 1
      ? "ok"
      : r === 0
        ? "partner-busy"
        : r === -1
          ? "release-busy"
          : r === -2
            ? "superseded"
            : "delivered";
  }

  /** Before the POST: true if `holder` still has the release lease (then extended), see RENEW. */
  async renew(id: string, releaseId: string, holder: string, times: LeaseTimes): Promise<boolean> {
    return (
      (await this.redis.heraldPartnerRenew(
        this.pk(id, "inflight"),
        this.pk(id, "lock", releaseId),
        holder,
        String(times.slotMs),
        String(times.leaseMs),
      )) === 1
    );
  }

  /** Gives the lease back and records the attempt (see FINISH). Safe to call without a lease. */
  async finish(
    id: string,
    d: { releaseId: string; revision: number; event: ReleaseEvent },
    run: { jobId: string; holder: string },
    rec: AttemptRecord = {},
  ): Promise<void> {
    await this.redis.heraldPartnerFinish(
      this.pk(id, "inflight"),
      this.pk(id, "lock", d.releaseId),
      this.pk(id, "log"),
      this.pk(id, "dead"),
      this.pk(id, "delivered"),
      run.holder,
      rec.log ? JSON.stringify(rec.log) : "",
      String(LOG_SIZE),
      deliveryKey(d),
      rec.deadLetter === undefined ? "-" : rec.deadLetter === "clear" ? "" : JSON.stringify(rec.deadLetter),
      rec.delivered ? run.jobId : "",
      String(DELIVERED_KEEP_MS),
    );
  }

  async deliveryLog(id: string, limit = LOG_SIZE): Promise<DeliveryLogEntry[]> {
    return (await this.redis.lrange(this.pk(id, "log"), 0, limit - 1)).map((s) => JSON.parse(s) as DeliveryLogEntry);
  }

  async addDeadLetter(id: string, d: DeadLetter): Promise<void> {
    await this.redis.hset(this.pk(id, "dead"), deliveryKey(d), JSON.stringify(d));
  }

  async clearDeadLetter(id: string, key: string): Promise<void> {
    await this.redis.hdel(this.pk(id, "dead"), key);
  }

  async deadLetters(id: string): Promise<DeadLetter[]> {
    const all = Object.values(await this.redis.hgetall(this.pk(id, "dead"))).map((s) => JSON.parse(s) as DeadLetter);
    return all.sort((a, b) => a.at.localeCompare(b.at) || a.revision - b.revision);
  }

  async deadLetterCounts(ids: string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hlen(this.pk(id, "dead"));
    return (await execOrThrow(pipe)).map((n) => Number(n));
  }
}

function parsePartner(h: Record<string, string> | null): Partner | null {
  if (!h?.config) return null;
  const config = JSON.parse(h.config) as Omit<Partner, "status" | "disabledReason" | "disabledAt">;
  return {
    ...config,
    status: h.status === "disabled" ? "disabled" : "active",
    ...(h.disabledReason ? { disabledReason: h.disabledReason } : {}),
    ...(h.disabledAt ? { disabledAt: h.disabledAt } : {}),
  };
}

/** What reaching the partner store takes: the runtime's connection and its prefix. */
export type PartnerStoreDeps = Pick<Runtime, "redis" | "config">;

/** The runtime's one PartnerStore, built the first time it is asked for (runtime.ts, oncePerRuntime). */
export const partnerStore = oncePerRuntime((rt: PartnerStoreDeps) => new PartnerStore(rt.redis, rt.config.prefix));
