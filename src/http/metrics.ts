// GET /metrics (Prometheus text format) and the HTTP request timer behind it. Installed on the
// root instance (not a plugin scope) so the timer sees every route; feed polls answered before
// routing are timed by feed-polls.ts into the same series.
import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { QUEUE_NAMES } from "../jobs/queues.ts";
import { readStats, STATS, type StatName } from "../metrics.ts";
import type { Runtime } from "../runtime.ts";
import type { RequestDurations } from "./durations.ts";

export function installMetrics(app: FastifyInstance, rt: MetricsDeps, httpDurations: RequestDurations): void {
  const registry = createMetricsRegistry(rt, httpDurations);
  app.addHook("onResponse", (req, reply, done) => {
    // Labelled by route pattern (/feeds/:kind/:value/:file), never by raw URL: bounded cardinality.
    httpDurations.observe(req.method, req.routeOptions.url ?? "unmatched", reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  // Behind METRICS_TOKEN when it is set (access.ts), open otherwise.
  app.get("/metrics", { config: { access: "metrics" } }, async (_req, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
}

const QUEUE_STATES = [
  "waiting",
  "active",
  "delayed",
  "failed",
  "completed",
  "prioritized",
  "waiting-children",
] as const;

/** What the registry needs of the HTTP request timings (http/durations.ts RequestDurations). */
export interface RegistersMetrics {
  register(registry: Registry): void;
}

/** What the registry reads at scrape time: queue depths, subscriber counts, the Redis-kept counters. */
export type MetricsDeps = Pick<Runtime, "queues" | "subscribers" | "redis" | "key">;

/** A registry for one web process: default metrics, HTTP durations, queue depths, Redis counters. */
export function createMetricsRegistry(rt: MetricsDeps, httpDurations: RegistersMetrics): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  httpDurations.register(registry);

  new Gauge({
    name: "herald_queue_jobs",
    help: "Jobs in each queue, by state (read from Redis at scrape time)",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      const counts = await Promise.all(QUEUE_NAMES.map((q) => rt.queues[q].getJobCounts(...QUEUE_STATES)));
      QUEUE_NAMES.forEach((q, i) => {
        for (const s of QUEUE_STATES) this.set({ queue: q, state: s }, counts[i]![s] ?? 0);
      });
    },
  });

  new Gauge({
    name: "herald_subscribers",
    help: "Subscribers by status",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, n] of Object.entries(await rt.subscribers.countByStatus())) this.set({ status }, n);
    },
  });

  // Redis-kept counters, read once per scrape (every counter's collect shares one read).
  let pending: Promise<Awaited<ReturnType<typeof readStats>>> | null = null;
  const snapshot = () => {
    pending ??= readStats(rt).finally(() => setTimeout(() => (pending = null), 100));
    return pending;
  };
  for (const [name, [help, labels]] of Object.entries(STATS) as [StatName, (typeof STATS)[StatName]][]) {
    new Counter({
      name,
      help,
      labelNames: [...labels],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of await snapshot()) if (s.name === name) this.inc(s.labels, s.value);
      },
    });
  }
  return registry;
}
