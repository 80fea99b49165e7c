// Redis connections. BullMQ wants two kinds: workers block on Redis and must retry forever
// (maxRetriesPerRequest: null); producers (HTTP, CLI) must fail fast instead of queueing
// commands while Redis is away (enableOfflineQueue: false), so a request answers 503, not hangs.
import { Redis, type RedisOptions } from "ioredis";

export type ConnectionRole = "worker" | "producer";

export function connectionOptions(role: ConnectionRole): RedisOptions {
  return role === "worker"
    ? { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false }
    : { maxRetriesPerRequest: 2, enableOfflineQueue: false, enableReadyCheck: true, lazyConnect: true };
}

export function createRedis(url: string, role: ConnectionRole, name?: string): Redis {
  return new Redis(url, { ...connectionOptions(role), connectionName: name });
}

/** Connects a producer connection and waits until it is ready, or throws a one-line reason. */
export async function connectProducer(url: string, name?: string): Promise<Redis> {
  const redis = createRedis(url, "producer", name);
  // Errors are reported through connect()'s rejection; the listener keeps ioredis from
  // printing "Unhandled error event" while it reconnects later.
  redis.on("error", () => {});
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return redis;
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
