// Subscribers in Redis. Every key lives under the prefix:
//   {p}:sub:{id}                      JSON of the subscriber
//   {p}:subs                          zset id -> createdAt (every subscriber, any status)
//   {p}:subs:{frequency}              set of CONFIRMED ids with that frequency (alerts read "immediate")
//   {p}:subs:{frequency}:tzs          set of time zones that have (or had) confirmed readers
//   {p}:subs:{frequency}:tz:{zone}    set of confirmed ids of that frequency in that zone
//   {p}:digest-cursor                 hash id -> ms: the newest publication time already in a sent digest
//   {p}:subs:by-status                hash status -> count (kept with every save, for status and metrics)
// Only confirmed readers sit in the frequency indexes, so the digest tick reads just the zones
// whose local hour is the send hour, never every subscriber.
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { type DigestFrequency, emailKey, type Frequency, normalizeEmail, type Subscriber } from "./model.ts";
import { execOrThrow } from "../redis/pipeline.ts";

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

export class SubscriberStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(":");
  }

  async get(id: string): Promise<Subscriber | null> {
    const raw = await this.redis.get(this.key("sub", id));
    return raw ? (JSON.parse(raw) as Subscriber) : null;
  }

  async byEmail(email: string): Promise<Subscriber | null> {
    return (await this.byEmails([email]))[0] ?? null;
  }

  /** Readers by address, in order (missing: null); a record kept under its legacyId counts. */
  async byEmails(emails: string[]): Promise<(Subscriber | null)[]> {
    const found = await this.getMany(emails.map(subscriberId));
    const retry = emails.map((e, i) => (found[i] === null && legacyId(e) !== subscriberId(e) ? i : -1)).filter((i) => i >= 0);
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
    const raws = await this.redis.mget(ids.map((id) => this.key("sub", id)));
    return raws.map((r) => (r ? (JSON.parse(r) as Subscriber) : null));
  }

  /** Writes `next` and moves it between indexes according to `previous` (null when new). */
  async save(next: Subscriber, previous: Subscriber | null): Promise<void> {
    const m = this.redis.multi();
    this.stage(m, next, previous);
    await execOrThrow(m);
  }

  /** Many saves in one round trip (imports, benchmarks). */
  async saveMany(items: { next: Subscriber; previous: Subscriber | null }[]): Promise<void> {
    const m = this.redis.multi();
    for (const { next, previous } of items) this.stage(m, next, previous);
    await execOrThrow(m);
  }

  private stage(m: ReturnType<Redis["multi"]>, next: Subscriber, previous: Subscriber | null): void {
    m.set(this.key("sub", next.id), JSON.stringify(next));
    m.zadd(this.key("subs"), Date.parse(next.createdAt), next.id);
    if (previous?.status !== next.status) {
      if (previous) m.hincrby(this.key("subs", "by-status"), previous.status, -1);
      m.hincrby(this.key("subs", "by-status"), next.status, 1);
    }
    if (previous?.status === "confirmed") this.unindex(m, previous);
    if (next.status === "confirmed") {
      m.sadd(this.key("subs", next.frequency), next.id);
      if (next.frequency !== "immediate") {
        m.sadd(this.key("subs", next.frequency, "tzs"), next.timezone);
        m.sadd(this.key("subs", next.frequency, "tz", next.timezone), next.id);
      }
    }
  }

  private unindex(m: ReturnType<Redis["multi"]>, s: Subscriber): void {
    m.srem(this.key("subs", s.frequency), s.id);
    if (s.frequency !== "immediate") m.srem(this.key("subs", s.frequency, "tz", s.timezone), s.id);
  }

  /** Erases a subscriber (GDPR): the record, its indexes and its digest cursor. */
  async remove(s: Subscriber): Promise<void> {
    const m = this.redis.multi();
    this.unindex(m, s);
    m.hincrby(this.key("subs", "by-status"), s.status, -1);
    m.del(this.key("sub", s.id));
    m.zrem(this.key("subs"), s.id);
    m.hdel(this.key("digest-cursor"), s.id);
    await execOrThrow(m);
  }

  async list(offset = 0, limit = 100): Promise<Subscriber[]> {
    const ids = await this.redis.zrange(this.key("subs"), String(offset), String(offset + limit - 1));
    return (await this.getMany(ids)).filter((s): s is Subscriber => s !== null);
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.key("subs"));
  }

  /** Subscribers per status (pending, confirmed, unsubscribed, bounced, complained). */
  async countByStatus(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.key("subs", "by-status"));
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]).filter(([, v]) => (v as number) > 0));
  }

  /** Every confirmed reader id with this frequency (SSCAN: no single huge reply). */
  async *confirmedIds(frequency: Frequency, batch = 1000): AsyncGenerator<string[]> {
    yield* this.scanSet(this.key("subs", frequency), batch);
  }

  async timezones(frequency: DigestFrequency): Promise<string[]> {
    return this.redis.smembers(this.key("subs", frequency, "tzs"));
  }

  async *confirmedIdsInZone(frequency: DigestFrequency, zone: string, batch = 1000): AsyncGenerator<string[]> {
    yield* this.scanSet(this.key("subs", frequency, "tz", zone), batch);
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
    const raws = await this.redis.hmget(this.key("digest-cursor"), ...ids);
    return raws.map((r) => (r === null ? null : Number(r)));
  }
}
