// The runtime: what every entry point (HTTP, workers, CLI) shares. One producer Redis
// connection, one Queue per queue name, the stores, the logger and the clock. Built once per
// process (or per test, with its own prefix) and closed once.
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { type Clock, systemClock } from "./clock.ts";
import type { Config } from "./config/index.ts";
import { DEFAULT_JOB_OPTIONS, QUEUE_NAMES, type QueueName } from "./jobs/queues.ts";
import { type Logger, silentLogger } from "./log.ts";
import { connectProducer } from "./redis/connection.ts";
import { ReleaseStore } from "./releases/store.ts";
import { readTaxonomyFile, TaxonomyStore } from "./releases/taxonomy.ts";

export type Queues = Record<QueueName, Queue>;

export interface Runtime {
  config: Config;
  /** The Redis URL actually used (REDIS_URL, the local default or the embedded server). */
  redisUrl: string;
  log: Logger;
  clock: Clock;
  /** Producer connection: fails fast while Redis is away. */
  redis: Redis;
  queues: Queues;
  releases: ReleaseStore;
  /** Topics and regions: labels per language and their IPTC / ISO codes. */
  taxonomy: TaxonomyStore;
  /** `{prefix}:a:b` */
  key(...parts: string[]): string;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
  redisUrl: string;
  log?: Logger;
  clock?: Clock;
}

/** BullMQ's key prefix: queues live under `{prefix}:q:{name}:…`. */
export function queuePrefix(prefix: string): string {
  return `${prefix}:q`;
}

export async function createRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const log = opts.log ?? silentLogger;
  // Before connecting: a bad TAXONOMY_FILE stops start-up like any bad setting.
  const taxonomyFile = opts.config.taxonomyFile ? readTaxonomyFile(opts.config.taxonomyFile) : undefined;
  const redis = await connectProducer(opts.redisUrl, "herald-producer");
  const prefix = opts.config.prefix;
  const queues = Object.fromEntries(
    QUEUE_NAMES.map((name) => {
      const q = new Queue(name, {
        connection: redis,
        prefix: queuePrefix(prefix),
        defaultJobOptions: DEFAULT_JOB_OPTIONS[name],
      });
      q.on("error", (err) => log.error({ err, queue: name }, "queue error"));
      return [name, q];
    }),
  ) as Queues;
  let closed = false;
  return {
    config: opts.config,
    redisUrl: opts.redisUrl,
    log,
    clock: opts.clock ?? systemClock,
    redis,
    queues,
    releases: new ReleaseStore(redis, prefix),
    taxonomy: new TaxonomyStore(redis, prefix, taxonomyFile),
    key: (...parts) => [prefix, ...parts].join(":"),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(Object.values(queues).map((q) => q.close()));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
