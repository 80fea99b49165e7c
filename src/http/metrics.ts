// GET /metrics (Prometheus text format) and the HTTP request timer behind it. Installed on the
// root instance (not a plugin scope) so the timer sees every route; feed polls answered before
// routing are timed by feed-polls.ts into the same series.
import type { FastifyInstance } from "fastify";
import { createMetricsRegistry, type MetricsDeps } from "../metrics.ts";
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
