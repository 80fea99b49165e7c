// GET /metrics (Prometheus text format) and the HTTP request timer behind it. Installed on the
// root instance (not a plugin scope) so the timer sees every route.
import type { FastifyInstance } from "fastify";
import { createMetricsRegistry } from "../metrics.ts";
import type { Runtime } from "../runtime.ts";

export function installMetrics(app: FastifyInstance, rt: Runtime): void {
  const { registry, httpDuration } = createMetricsRegistry(rt);
  // One labelled child per (method, route, status), looked up by a plain string: label hashing on
  // every request cost a tenth of the throughput of a feed poll answered 304.
  const children = new Map<string, ReturnType<typeof httpDuration.labels>>();
  app.addHook("onResponse", (req, reply, done) => {
    // Label by route pattern (/feeds/topics/:slug/atom.xml), never by raw URL: bounded cardinality.
    const route = req.routeOptions.url ?? "unmatched";
    const k = `${req.method} ${reply.statusCode} ${route}`;
    let child = children.get(k);
    if (!child) {
      child = httpDuration.labels({ method: req.method, route, status_code: String(reply.statusCode) });
      children.set(k, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
}
