// The runtime: what every entry point (HTTP, workers, CLI) shares. One producer Redis
// connection, one Queue per queue name, the stores, the logger and the clock. Built once per
// process (or per test, with its own prefix) and closed once. The stores are built here, once,
// and never again per call; a channel's own store, which this floor cannot import, is built
// once per runtime by oncePerRuntime. A function takes the part of the runtime it uses
// (`Pick<Runtime, "releases" | "clock">`, or a named Deps type beside it), never the whole of it
// by habit: its signature says what it touches, and a test can hand it just that.
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { type Clock, systemClock } from "./clock.ts";
import type { Config } from "./config/index.ts";
import { DEFAULT_JOB_OPTIONS, EVENTS_KEPT, QUEUE_NAMES, type QueueName } from "./jobs/queues.ts";
import { type Logger, silentLogger } from "./log.ts";
import { type KeyBuilder, keyBuilder } from "./redis/keys.ts";
import { clusterOf, connectProducer, describeTarget, type RedisTarget } from "./redis/connection.ts";
import { ReleaseStore } from "./releases/store.ts";
import { HeraldError } from "./errors.ts";
import { readTaxonomyFile, TaxonomyStore } from "./releases/taxonomy.ts";
import { SubscriberStore } from "./subscribers/store.ts";

export type Queues = Record<QueueName, Queue>;

export interface Runtime {
  config: Config;
  /**
   * The Redis URL actually used (REDIS_URL, the local default or the embedded server); for a
   * Cluster or Sentinel, a description without secrets (connect with redisTarget).
   */
  redisUrl: string;
  /** Where every connection of this process goes (workers, the feed reader): see createRedis. */
  redisTarget: RedisTarget;
  /** BullMQ's key prefix for a queue (see queuePrefix). */
  queuePrefix(name: QueueName): string;
  /** SCAN patterns that together match every key of this prefix, queues and reader shards included. */
  keyPatterns(): string[];
  /**
   * How many shards the readers' data is split into (redis/shards.ts): REDIS_SHARDS, settled
   * against what the data was written with (resolveShards).
   */
  shards: number;
  log: Logger;
  clock: Clock;
  /** Producer connection: fails fast while Redis is away. */
  redis: Redis;
  queues: Queues;
  releases: ReleaseStore;
  subscribers: SubscriberStore;
  /** Topics and regions: labels per language and their IPTC / ISO codes. */
  taxonomy: TaxonomyStore;
  /** `{prefix}:a:b` (redis/keys.ts) */
  key: KeyBuilder;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
  /** A redis:// URL, or a Cluster / Sentinel from the config (config.redisHa). */
  redisUrl: RedisTarget;
  log?: Logger;
  clock?: Clock;
}

/**
 * BullMQ's key prefix: queues live under `{prefix}:q:{name}:…`. BullMQ's scripts need all of
 * one queue's keys in one slot. On a Redis Cluster each queue gets its own hash tag instead,
 * `{herald:q:emails}:emails:…`, so the queues spread over the masters rather than all sitting
 * with the data on the slot of `{herald}`. (Herald never touches a queue's keys and its data
 * keys in one command, so they need not share a slot.) A single Redis keeps the old names, so
 * an upgrade finds its queued jobs.
 */
export function queuePrefix(prefix: string, name?: QueueName, cluster = false): string {
  if (!cluster || !name) return `${prefix}:q`;
  return `{${prefix.replace(/[{}]/g, "")}:q:${name}}`;
}

/** Does this single connection reach a node of a Redis Cluster? (false when INFO is not allowed) */
async function clusterEnabled(redis: Redis): Promise<boolean> {
  try {
    return /^cluster_enabled:1\s*$/m.test(await redis.info("cluster"));
  } catch {
    return false;
  }
}

/** Redis's rule: the text between the first "{" and the next "}", when not empty, picks the slot. */
export function hasHashTag(key: string): boolean {
  const open = key.indexOf("{");
  if (open < 0) return false;
  const close = key.indexOf("}", open + 1);
  return close > open + 1;
}

/** SCAN MATCH patterns for every key of `prefix` (the queues' own hash tags on a cluster, the reader shards'). */
export function keyPatterns(prefix: string, cluster = false, shards = 1): string[] {
  const stem = prefix.replace(/[{}]/g, "");
  // Shard tags exactly (`{herald:s07}`, `{herald:s123}`): a looser `{herald:s*` would also match
  // another deployment's prefix such as `{herald:staging}`.
  const shardTags = shards > 1 ? [`{${stem}:s[0-9][0-9]}:*`] : [];
  if (shards > 100) shardTags.push(`{${stem}:s[0-9][0-9][0-9]}:*`);
  return [`${prefix}:*`, ...(cluster ? [`{${stem}:q:*`] : []), ...shardTags];
}

/** REDIS_SHARDS on a Redis Cluster when neither the setting nor the data says otherwise. */
export const CLUSTER_SHARDS = 16;

/**
 * How many reader shards this prefix uses. The number is part of the data's layout (a reader's
 * keys are in the shard its id hashes to), so it is recorded in `{prefix}:shards` the first time
 * and never changes: a setting that disagrees with the data stops start-up rather than split the
 * readers between two layouts. Data written before shards existed (`{prefix}:subs` present, no
 * record) is the one-shard layout, which a single Redis and Sentinel keep by default (and a
 * cluster too, when REDIS_SHARDS is unset).
 */
export async function resolveShards(
  redis: Redis,
  prefix: string,
  wanted: number | undefined,
  cluster: boolean,
): Promise<number> {
  const key = keyBuilder(prefix)("shards");
  const refuse = (had: number, why: string) =>
    new HeraldError(
      "HERALD_SHARDS_CHANGED",
      `REDIS_SHARDS=${wanted} but ${why} with ${had} shard(s): set REDIS_SHARDS=${had} (or leave it unset); moving readers between shards is not supported`,
    );
  for (;;) {
    const stored = await redis.get(key);
    if (stored !== null) {
      const had = Number(stored);
      if (!Number.isInteger(had) || had < 1 || had > 256)
        throw new HeraldError(
          "HERALD_SHARDS_CHANGED",
          `${key} holds ${JSON.stringify(stored)}, not a number of shards (1-256): it records how the readers are stored; restore it from a backup`,
        );
      if (wanted !== undefined && wanted !== had) throw refuse(had, `the data under ${prefix} was written`);
      return had;
    }
    // Any reader key of the one-shard layout (the index of every reader, the counts hash that
    // preceded it, cursors, reader numbers) means readers are stored under the old names.
    const k = keyBuilder(prefix);
    const unsharded = (await redis.exists(k("subs"), k("subs", "by-status"), k("digest-cursor"), k("reader-n"))) > 0;
    if (unsharded && wanted !== undefined && wanted !== 1)
      throw refuse(1, `the readers under ${prefix} were written before shards, that is`);
    const n = unsharded ? 1 : (wanted ?? (cluster ? CLUSTER_SHARDS : 1));
    // Two processes starting at once on an empty prefix: the first to record its number wins, the
    // other re-checks. A read-only Redis (a demoted primary) records nothing and takes no writes
    // of readers either: it answers 503 until writable (http/health.ts), and a later start records.
    const set = await redis.set(key, String(n), "NX").catch((err: Error) => {
      if (/^READONLY\b/.test(err.message)) return "OK";
      throw err;
    });
    if (set === "OK") return n;
  }
}

/**
 * `build` run at most once per runtime, its result kept as long as that runtime is: for what a
 * channel owns (its store), which createRuntime cannot build because this floor does not import
 * the channels (`npm run layers`). Keyed by the object passed, which is the runtime itself even
 * where a function declares only a Pick of it.
 */
export function oncePerRuntime<R extends object, T>(build: (rt: R) => T): (rt: R) => T {
  const built = new WeakMap<R, T>();
  return (rt) => {
    if (!built.has(rt)) built.set(rt, build(rt));
    return built.get(rt) as T;
  };
}

export async function createRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const log = opts.log ?? silentLogger;
  // Before connecting: a bad TAXONOMY_FILE stops start-up like any bad setting.
  const taxonomyFile = opts.config.taxonomyFile ? readTaxonomyFile(opts.config.taxonomyFile) : undefined;
  const redis = await connectProducer(opts.redisUrl, "herald-producer");
  const prefix = opts.config.prefix;
  const cluster = clusterOf(redis) !== undefined;
  if (!cluster && (await clusterEnabled(redis))) {
    await redis.quit().catch(() => redis.disconnect());
    // One connection to one node of a cluster sees only that node's slots: everything else
    // answers MOVED. Say how to connect instead of failing request by request.
    throw new Error(
      `${describeTarget(opts.redisUrl)} is a node of a Redis Cluster: set REDIS_CLUSTER_NODES=host:port,… (and HERALD_PREFIX={herald}) instead of REDIS_URL`,
    );
  }
  if (cluster && !hasHashTag(prefix)) {
    await redis.quit().catch(() => redis.disconnect());
    // Config refuses this already (HERALD_PREFIX); this guards tools that build a Config.
    throw new Error(
      `prefix "${prefix}" has no hash tag: on a Redis Cluster use one such as {herald}, so each script's keys share a slot`,
    );
  }
  let shards: number;
  try {
    shards = await resolveShards(redis, prefix, opts.config.redisShards, cluster);
  } catch (err) {
    await redis.quit().catch(() => redis.disconnect());
    throw err;
  }
  const prefixOf = (name: QueueName) => queuePrefix(prefix, name, cluster);
  const queues = Object.fromEntries(
    QUEUE_NAMES.map((name) => {
      const q = new Queue(name, {
        connection: redis,
        prefix: prefixOf(name),
        defaultJobOptions: DEFAULT_JOB_OPTIONS[name],
        streams: { events: { maxLen: EVENTS_KEPT } },
      });
      q.on("error", (err) => log.error({ err, queue: name }, "queue error"));
      return [name, q];
    }),
  ) as Queues;
  let closed = false;
  return {
    config: opts.config,
    redisUrl: typeof opts.redisUrl === "string" ? opts.redisUrl : describeTarget(opts.redisUrl),
    redisTarget: opts.redisUrl,
    queuePrefix: prefixOf,
    keyPatterns: () => keyPatterns(prefix, cluster, shards),
    shards,
    log,
    clock: opts.clock ?? systemClock,
    redis,
    queues,
    releases: new ReleaseStore(redis, prefix),
    subscribers: new SubscriberStore(redis, prefix, shards),
    taxonomy: new TaxonomyStore(redis, prefix, taxonomyFile),
    key: keyBuilder(prefix),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(Object.values(queues).map((q) => q.close()));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
