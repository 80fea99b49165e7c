// Releases in Redis. Every key lives under the prefix:
//   {p}:release:{id}          JSON of the current revision
//   {p}:release:{id}:revs     hash revision -> JSON of that revision, for the REVISIONS_KEPT
//                             revisions before the current one only (the current one is
//                             {p}:release:{id}; older ones are dropped in the commit that makes
//                             them that old). Readers of a revision are the event jobs for the
//                             last two and retried deliveries, which an older revision no longer
//                             concerns (a newer one is queued for every partner).
//   {p}:release:{id}:fp       fingerprint of the input that made the current revision
//   {p}:releases              zset id -> updatedAt (every release, any status)
//   {p}:idx:{feedKey}         zset id -> publishedAt, public releases only ("all", "topics/x", …).
//                             "all" keeps every public release (the front page pages through it,
//                             digests read the last weeks of it by time); a facet's index is only
//                             read for its feed (FEED_SIZE newest), so the commit trims it to the
//                             FACET_INDEX_KEEP newest
//   {p}:facets:{kind}         set of every topic / region / language ever published
//   {p}:translations:{id}     set of ids whose translationOf is id
//   {p}:outbox                zset "id|revision|event" -> time: events stored but not yet queued
// A commit is one Lua script (src/redis/cas.ts, shared with subscribers): it checks the revision
// it builds on and writes everything, so two concurrent updates cannot both become revision n+1,
// and an event is never stored without its outbox entry (the dispatcher re-queues anything left
// there after a crash).
import type { Redis } from "ioredis";
import { type FacetKind, type FeedKey, facetFeedKey, feedKeysOf, type ReleaseEvent } from "../vocabulary.ts";
import { type KeyBuilder, keyBuilder } from "../redis/keys.ts";
import { execOrThrow } from "../redis/pipeline.ts";
import type { Release } from "./model.ts";
import { CasOps, casCommit } from "../redis/cas.ts";

/** Revisions kept in full besides the current one. */
export const REVISIONS_KEPT = 4;
/**
 * Entries kept in a facet's feed index: twice the largest FEED_SIZE (500), so a feed still has
 * FEED_SIZE items after withdrawals among its newest, and after FEED_SIZE is raised.
 */
export const FACET_INDEX_KEEP = 1000;

export interface PendingEvent {
  releaseId: string;
  revision: number;
  event: ReleaseEvent;
}

export class RevisionConflictError extends Error {
  readonly code = "HERALD_CONFLICT";
}

export class ReleaseStore {
  private readonly key: KeyBuilder;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = keyBuilder(prefix);
  }

  async get(id: string): Promise<Release | null> {
    const raw = await this.redis.get(this.key("release", id));
    return raw ? (JSON.parse(raw) as Release) : null;
  }

  /** That revision of the release; null when it never existed or is older than REVISIONS_KEPT. */
  async getRevision(id: string, revision: number): Promise<Release | null> {
    const [old, current] = (await execOrThrow(
      this.redis
        .pipeline()
        .hget(this.key("release", id, "revs"), String(revision))
        .get(this.key("release", id)),
    )) as (string | null)[];
    if (old) return JSON.parse(old) as Release;
    const r = current ? (JSON.parse(current) as Release) : null;
    return r?.revision === revision ? r : null;
  }

  async getMany(ids: string[]): Promise<Release[]> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.key("release", id)));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Release);
  }

  async fingerprint(id: string): Promise<string | null> {
    return this.redis.get(this.key("release", id, "fp"));
  }

  /** The `limit` newest public releases of a feed key, newest first; no scan of all releases. */
  async newest(feed: FeedKey, limit: number, offset = 0): Promise<Release[]> {
    const ids = await this.redis.zrevrange(this.key("idx", feed), offset, offset + limit - 1);
    return this.getMany(ids);
  }

  /** How many public releases a feed key holds now. */
  async countPublic(feed: FeedKey): Promise<number> {
    return this.redis.zcard(this.key("idx", feed));
  }

  /** Public releases of a feed key published in (fromMs, toMs], oldest first. */
  async publishedBetween(feed: FeedKey, fromMs: number, toMs: number, limit = 500): Promise<Release[]> {
    const ids = await this.redis.zrangebyscore(this.key("idx", feed), `(${fromMs}`, toMs, "LIMIT", 0, limit);
    return this.getMany(ids);
  }

  /** Every id, most recently changed first. */
  async list(offset = 0, limit = 100): Promise<string[]> {
    return this.redis.zrevrange(this.key("releases"), offset, offset + limit - 1);
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.key("releases"));
  }

  async facets(kind: FacetKind): Promise<string[]> {
    return (await this.redis.smembers(this.key("facets", kind))).sort();
  }

  /** The facet values with at least one public release now (withdrawn and embargoed ones do not count). */
  async liveFacets(kind: FacetKind): Promise<string[]> {
    const values = await this.facets(kind);
    if (values.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const v of values) pipe.zcard(this.key("idx", facetFeedKey(kind, v)));
    const counts = await execOrThrow(pipe);
    return values.filter((_, i) => Number(counts[i]) > 0);
  }

  async hasFacet(kind: FacetKind, value: string): Promise<boolean> {
    return (await this.redis.sismember(this.key("facets", kind), value)) === 1;
  }

  async translations(id: string): Promise<Release[]> {
    return this.getMany(await this.redis.smembers(this.key("translations", id)));
  }

  /**
   * Stores `next` as the release's current revision, replacing `previous` (null for a new
   * release), and records `event` in the outbox. Throws RevisionConflictError when another
   * writer got there first.
   */
  async commit(next: Release, previous: Release | null, fingerprint: string, event: ReleaseEvent): Promise<void> {
    const json = JSON.stringify(next);
    const ops = new CasOps(this.key("release", next.id));
    ops.add("SET", this.key("release", next.id), json);
    if (previous && typeof previous.revision === "number") {
      // The current revision lives in {p}:release:{id} only; the one it replaces joins the history.
      ops.add("HSET", this.key("release", next.id, "revs"), String(previous.revision), JSON.stringify(previous));
      ops.add(
        "HDEL",
        this.key("release", next.id, "revs"),
        String(next.revision),
        String(previous.revision - REVISIONS_KEPT),
      );
    }
    ops.add("SET", this.key("release", next.id, "fp"), fingerprint);
    ops.add("ZADD", this.key("releases"), Date.parse(next.updatedAt), next.id);
    for (const feed of previous?.status === "published" ? feedKeysOf(previous) : []) {
      ops.add("ZREM", this.key("idx", feed), next.id);
    }
    if (next.status === "published") {
      const score = Date.parse(next.publishedAt);
      for (const feed of feedKeysOf(next)) {
        ops.add("ZADD", this.key("idx", feed), score, next.id);
        if (feed !== "all") ops.add("ZREMRANGEBYRANK", this.key("idx", feed), 0, -(FACET_INDEX_KEEP + 1));
      }
      for (const t of next.topics) ops.add("SADD", this.key("facets", "topics"), t);
      for (const g of next.regions) ops.add("SADD", this.key("facets", "regions"), g);
      ops.add("SADD", this.key("facets", "languages"), next.language);
    }
    if (previous?.translationOf && previous.translationOf !== next.translationOf) {
      ops.add("SREM", this.key("translations", previous.translationOf), next.id);
    }
    if (next.translationOf) ops.add("SADD", this.key("translations", next.translationOf), next.id);
    ops.add(
      "ZADD",
      this.key("outbox"),
      Date.parse(next.updatedAt),
      outboxMember({ releaseId: next.id, revision: next.revision, event }),
    );
    const ok = await casCommit(this.redis, ops, previous?.revision ?? 0);
    if (!ok) {
      throw new RevisionConflictError(`release ${next.id} changed while this request ran; send it again`);
    }
  }

  /** Events stored but not yet acknowledged as queued, oldest first. */
  async pendingEvents(limit = 1000): Promise<PendingEvent[]> {
    const members = await this.redis.zrange(this.key("outbox"), 0, String(limit - 1));
    return members.map(parseOutboxMember);
  }

  async ackEvent(e: PendingEvent): Promise<void> {
    await this.redis.zrem(this.key("outbox"), outboxMember(e));
  }
}

function outboxMember(e: PendingEvent): string {
  return `${e.releaseId}|${e.revision}|${e.event}`;
}

function parseOutboxMember(m: string): PendingEvent {
  const [releaseId, revision, event] = m.split("|");
  return { releaseId: releaseId!, revision: Number(revision), event: event as ReleaseEvent };
}
