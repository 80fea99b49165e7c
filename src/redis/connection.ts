// Redis connections: the one factory every connection comes from (producers, workers, BullMQ,
// the feed reader's subscriber), for a single Redis, a Redis Cluster or a Sentinel-watched
// primary. BullMQ wants two kinds: workers block on Redis and must retry forever
// (maxRetriesPerRequest: null); producers (HTTP, CLI) must fail fast instead of queueing
// commands while Redis is away (enableOfflineQueue: false), so a request answers 503, not hangs.
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import { type RedisHa, redactSentinelUrl } from "../config/index.ts";

export type ConnectionRole = "worker" | "producer";

/** Where Redis is: a redis:// URL, or a Cluster / Sentinel description from the config. */
export type RedisTarget = string | RedisHa;

export function connectionOptions(role: ConnectionRole): RedisOptions {
  const common: RedisOptions = { enableReadyCheck: true, reconnectOnError: reconnectOnReadonly(false) };
  return role === "worker"
    ? { ...common, maxRetriesPerRequest: null, lazyConnect: false }
    : { ...common, maxRetriesPerRequest: 2, enableOfflineQueue: false, lazyConnect: true };
}

/**
 * A replica answers writes with READONLY. That happens when the node we hold a connection to
 * was demoted (a Sentinel failover, an old primary back as a replica, a managed service's
 * switch-over behind one DNS name): reconnect. With Sentinel the reconnect asks for the current
 * primary, so the command is resent (2) and lands there; with a fixed address the command fails
 * (1) and its caller retries (a job, an HTTP 503), rather than bouncing forever off a replica.
 */
export function reconnectOnReadonly(resend: boolean): (err: Error) => boolean | 1 | 2 {
  return (err) => (/^READONLY\b/.test(err.message) ? (resend ? 2 : 1) : false);
}

/**
 * A connection to `target`. A Cluster is returned typed as Redis: it has the same commands
 * (each routed to the master owning its key's slot), and every Herald key carries the
 * prefix's hash tag, so stores need not care. The few places that do (SCAN, per-node checks)
 * ask clusterOf().
 */
export function createRedis(target: RedisTarget, role: ConnectionRole, name?: string): Redis {
  const options: RedisOptions = { ...connectionOptions(role), connectionName: name };
  if (typeof target === "string") return new Redis(target, options);
  const tls = target.tls ? {} : undefined;
  if (target.mode === "sentinel") {
    return new Redis({
      ...options,
      sentinels: target.sentinels,
      name: target.name,
      db: target.db,
      username: target.auth.username,
      password: target.auth.password,
      sentinelUsername: target.sentinelAuth.username,
      sentinelPassword: target.sentinelAuth.password,
      // Only a primary: a failover is followed by asking the Sentinels again (ioredis does
      // that on every reconnect, and on READONLY through reconnectOnError).
      role: "master",
      reconnectOnError: reconnectOnReadonly(true),
      tls,
      enableTLSForSentinelMode: target.tls,
      sentinelTLS: tls,
      // A few rounds over the Sentinels per connection attempt, then the attempt fails with
      // "All sentinels are unreachable" (a producer's connect() rejects, the CLI says why);
      // ioredis's own retry strategy then starts the next attempt, so workers keep trying.
      sentinelRetryStrategy: (times: number) => (times > 3 ? null : times * 200),
      // No failoverDetector: its subscriptions to the Sentinels outlive quit() and keep a CLI
      // process from exiting. A failover is followed without it: the Sentinels disconnect the
      // clients of a demoted primary, and a READONLY answer reconnects (above).
    });
  }
  const { enableOfflineQueue, lazyConnect, ...redisOptions } = options;
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue: enableOfflineQueue ?? true,
    lazyConnect: lazyConnect ?? false,
    enableReadyCheck: true,
    // Slots move (resharding, a failover): follow MOVED/ASK and refresh the slot map.
    maxRedirections: 16,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    clusterRetryStrategy: (times: number) => Math.min(100 + times * 100, 2000),
    redisOptions: {
      ...redisOptions,
      username: target.auth.username,
      password: target.auth.password,
      tls,
    },
  };
  return new Cluster(target.nodes, clusterOptions) as unknown as Redis;
}

/** The Cluster behind a connection made by createRedis, or undefined for a single Redis. */
export function clusterOf(redis: Redis): Cluster | undefined {
  return (redis as unknown) instanceof Cluster ? (redis as unknown as Cluster) : undefined;
}

/** Each master's connection: the cluster's masters, or the connection itself. */
export function masters(redis: Redis): Redis[] {
  const cluster = clusterOf(redis);
  return cluster ? cluster.nodes("master") : [redis];
}

/** Connects a producer connection and waits until it is ready, or throws a one-line reason. */
export async function connectProducer(target: RedisTarget, name?: string): Promise<Redis> {
  const redis = createRedis(target, "producer", name);
  // Errors are reported through connect()'s rejection; the listener keeps ioredis from
  // printing "Unhandled error event" while it reconnects later.
  // The first error says why (WRONGPASS, ECONNREFUSED, a Sentinel that knows no such master);
  // connect() itself often rejects with only "Connection is closed".
  let cause: Error | undefined;
  redis.on("error", (err: Error) => {
    cause ??= err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const message = (err as Error).message;
    const why = cause && !message.includes(cause.message) ? `${cause.message} (${message})` : message;
    throw new Error(`cannot reach Redis at ${describeTarget(target)}: ${why}`);
  }
  return redis;
}

/** Where Redis is, for logs and messages: never a password. */
export function describeTarget(target: RedisTarget): string {
  if (typeof target === "string")
    return /^rediss?\+sentinel:/.test(target) ? redactSentinelUrl(target) : redactUrl(target);
  const hosts = (target.mode === "cluster" ? target.nodes : target.sentinels).map((h) =>
    h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`,
  );
  return target.mode === "cluster"
    ? `Redis Cluster ${hosts.join(",")}${target.tls ? " (TLS)" : ""}`
    : `Sentinel-watched primary "${target.name}" via ${hosts.join(",")}${target.tls ? " (TLS)" : ""}`;
}

/** A Redis URL without its password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}
