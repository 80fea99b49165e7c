// Worker start-up: one BullMQ Worker per queue that has a processor, each on its own blocking
// connection. close() lets active jobs finish; a second close (second signal) forces.
import { Worker } from "bullmq";
import { countStat } from "../metrics.ts";
import { createRedis } from "../redis/connection.ts";
import { queuePrefix, type Runtime } from "../runtime.ts";
import { PROCESSORS } from "./processors.ts";
import type { QueueName } from "./queues.ts";

export interface Workers {
  workers: Worker[];
  close(force?: boolean): Promise<void>;
}

export function startWorkers(rt: Runtime, only?: QueueName[]): Workers {
  const workers: Worker[] = [];
  const connections: ReturnType<typeof createRedis>[] = [];
  for (const [name, spec] of Object.entries(PROCESSORS) as [QueueName, NonNullable<(typeof PROCESSORS)[QueueName]>][]) {
    if (only && !only.includes(name)) continue;
    const connection = createRedis(rt.redisUrl, "worker", `herald-worker-${name}`);
    connection.on("error", () => {}); // reported by the worker's own error listener below
    connections.push(connection);
    const worker = new Worker(name, (job) => spec.process(job, rt), {
      connection,
      prefix: queuePrefix(rt.config.prefix),
      concurrency: 1,
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
    async close(force = false) {
      await Promise.all(workers.map((w) => w.close(force)));
      // BullMQ closes only the connections it made; these are ours.
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
