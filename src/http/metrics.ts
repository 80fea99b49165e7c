// GET /metrics (Prometheus text format) and the HTTP request timer behind it. Installed on the
// root instance (not a plugin scope) so the timer sees every route.
import type { FastifyInstance } from "fastify";
import { createMetricsRegistry } from "../metrics.ts";
import type { Runtime } from "../runtime.ts";

export function installMetrics(app: FastifyInstance, rt: Runtime): void {
  const { registry, httpDuration } = createMetricsRegistry(rt);
  app.addHook("onResponse", async (req, reply) => {
    // Label by route pattern (/feeds/topics/:slug/atom.xml), never by raw URL: bounded cardinality.
    const route = req.routeOptions.url ?? "unmatched";
    httpDuration.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
}
