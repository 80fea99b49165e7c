import type { FastifyPluginAsync } from "fastify";
import type { Runtime } from "../runtime.ts";

export const healthRoutes: FastifyPluginAsync<{ rt: Runtime }> = async (app, { rt }) => {
  app.get("/healthz", async () => ({ ok: true }));
  app.get("/readyz", async (_req, reply) => {
    try {
      await rt.redis.ping();
      return { ok: true, redis: "up" };
    } catch (err) {
      return reply.code(503).send({ ok: false, redis: "down", error: (err as Error).message });
    }
  });
};
