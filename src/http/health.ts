// Liveness and readiness. /readyz answers 200 only when Redis accepts a write right now: a PING
// is answered by a replica too, and a Herald holding a connection to a demoted primary (after a
// Sentinel failover, or an old primary back as a replica) would fail every write with READONLY
// while saying it is ready. On a Redis Cluster the write goes to each slot Herald uses: its data,
// every queue's hash tag and every reader shard's, so a master down anywhere Herald writes makes
// it not ready.
import { hostname } from "node:os";
import type { FastifyPluginAsync } from "fastify";
import { clusterOf } from "../redis/connection.ts";
import { Shards } from "../redis/shards.ts";
import { QUEUE_NAMES } from "../jobs/queues.ts";
import type { Runtime } from "../runtime.ts";

/** Longest a readiness probe waits for Redis: probes have their own short timeouts. */
export const READY_TIMEOUT_MS = 2_000;
/** The probe key expires by itself; nothing accumulates. */
const PROBE_TTL_MS = 10_000;

/** Resolves when Redis took a write on every slot Herald uses, or rejects with the reason. */
/** What the readiness probe writes through: the producer connection, the data and queue key prefixes, the reader buckets. */
type ProbeDeps = Pick<Runtime, "redis" | "key" | "queuePrefix" | "config" | "shards">;

export async function checkWritable(rt: ProbeDeps, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const id = `${hostname()}-${process.pid}`;
  const keys = [rt.key("health", id)];
  if (clusterOf(rt.redis)) keys.push(...QUEUE_NAMES.map((q) => `${rt.queuePrefix(q)}:health:${id}`));
  const shards = new Shards(rt.config.prefix, rt.shards);
  if (shards.n > 1) keys.push(...shards.all().map((sh) => shards.key(sh, "health", id)));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      Promise.all(keys.map((k) => rt.redis.set(k, String(Date.now()), "PX", PROBE_TTL_MS))),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsync<{ rt: ProbeDeps }> = async (app, { rt }) => {
  app.get("/healthz", async () => ({ ok: true }));
  app.get("/readyz", async (_req, reply) => {
    try {
      await checkWritable(rt);
      return { ok: true, redis: "up" };
    } catch (err) {
      const message = (err as Error).message;
      const redis = /READONLY/.test(message) ? "read-only" : "down";
      return reply.code(503).header("retry-after", "5").send({ ok: false, redis, error: message });
    }
  });
};
