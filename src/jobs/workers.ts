// Worker start-up: one BullMQ Worker per queue that has a processor, each on its own blocking
// connection. close() lets active jobs finish; a second close (second signal) forces.
import { setFlagsFromString } from "node:v8";
import { Worker } from "bullmq";
import { countStat } from "../metrics.ts";
import { createRedis } from "../redis/connection.ts";
import type { Runtime } from "../runtime.ts";
import type { Channel } from "../channel.ts";
import { CHANNELS } from "./channels.ts";
import { processorsOf } from "./processors.ts";
import type { QueueName } from "./queues.ts";

/** Times a job may be taken over from a dead worker before it is failed as poison. */
export const MAX_STALLED_COUNT = 10;

export interface Workers {
  workers: Worker[];
  /** "queue#jobId" of each job a processor is running now (shutdown logs what it left). */
  active(): string[];
  close(force?: boolean): Promise<void>;
}

/**
 * A worker process's heap (WORKER_HEAP_GROWTH_PERCENT). V8 lets the old generation grow to a
 * multiple of what was live after the last full collection before it collects again: up to 4 x
 * on a machine with a few GB of memory, whatever the process needs. A worker's live set is small
 * and steady (~55 MB, mostly code: MJML, BullMQ, nodemailer), and a digest run promotes a
 * steady stream of short-lived objects (each message in flight, each batch's readers), so its
 * heap sat at ~4 x the live set: 450-720 MB of RSS for 10,000-100,000 readers. With the growth
 * fixed at 30 %, collections are more frequent (each costs ~10-30 ms of a 55 MB live set) and
 * the heap stays near the live set. Set here, from the configuration, because operators should
 * not need a Node flag for it; V8 reads this flag at every collection, so setting it at start-up
 * takes effect at once. 0 leaves V8's own rule (an explicit --heap-growing-percent then applies).
 */
export function boundHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** Workers for the queues of `channels` (every channel by default) and release-events; `only` narrows to some queues. */
export function startWorkers(rt: Runtime, only?: QueueName[], channels: readonly Channel[] = CHANNELS): Workers {
  boundHeapGrowth(rt.config.workerHeapGrowthPercent);
  const processors = processorsOf(channels);
  const workers: Worker[] = [];
  const connections: ReturnType<typeof createRedis>[] = [];
  const running = new Set<string>();
  for (const [name, spec] of Object.entries(processors) as [QueueName, NonNullable<(typeof processors)[QueueName]>][]) {
    if (only && !only.includes(name)) continue;
    const connection = createRedis(rt.redisTarget, "worker", `herald-worker-${name}`);
    connection.on("error", () => {}); // reported by the worker's own error listener below
    connections.push(connection);
    const run = async (job: Parameters<typeof spec.process>[0]) => {
      const tag = `${name}#${job.id}`;
      running.add(tag);
      try {
        return await spec.process(job, rt);
      } finally {
        running.delete(tag);
      }
    };
    const worker = new Worker(name, run, {
      connection,
      prefix: rt.queuePrefix(name),
      concurrency: 1,
      // A job whose worker died (SIGKILL, OOM, lost machine) is "stalled": once its lock runs
      // out another worker takes it over and runs it again, which is safe because every job is
      // idempotent. BullMQ's default fails a job the second time it stalls, so two crashes in a
      // row (a crash loop, a redeploy during an outage) would drop a partner event or an email
      // batch for good; only a job that keeps killing its worker (poison) should fail that way.
      // A worker whose event loop is starved past lockDuration loses the job while still running
      // it; the send leases (src/mail/leases.ts, partners' deliver.ts) keep that from sending twice.
      lockDuration: rt.config.workerLockMs,
      stalledInterval: rt.config.workerStalledIntervalMs,
      maxStalledCount: MAX_STALLED_COUNT,
      ...spec.options?.(rt),
    });
    worker.on("error", (err) => rt.log.error({ err, queue: name }, "worker error"));
    worker.on("failed", (job, err) => {
      rt.log.warn({ queue: name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "job failed");
      void countStat(rt, "herald_jobs_failed_total", { queue: name });
    });
    worker.on("completed", () => void countStat(rt, "herald_jobs_completed_total", { queue: name }));
    workers.push(worker);
  }
  return {
    workers,
    active: () => [...running],
    async close(force = false) {
      await Promise.all(workers.map((w) => w.close(force)));
      // BullMQ closes only the connections it made; these are ours.
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
