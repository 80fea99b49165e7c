// The dashboard: Bull Board at /admin/queues for every queue, behind basic auth. With no
// ADMIN_PASSWORD it is not mounted at all (and start-up says how to turn it on).
// Every route Bull Board adds in this scope (its page, its static files, its JSON API) is
// declared `admin`: access.ts checks the password on the matched route, whatever the spelling.
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Runtime } from "../runtime.ts";
import { declareAccess } from "./access.ts";

const BASE = "/admin/queues";

export const adminRoutes: FastifyPluginAsync<{ rt: Pick<Runtime, "config" | "queues"> }> = async (app, { rt }) => {
  declareAccess(app, "admin");
  if (!rt.config.adminPassword) return;
  const adapter = new FastifyAdapter();
  createBullBoard({
    queues: Object.values(rt.queues).map((q) => new BullMQAdapter(q)),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: "Herald queues" } },
  });
  adapter.setBasePath(BASE);
  await app.register(adapter.registerPlugin(), { prefix: BASE });
  // Any other /admin URL: the password first, then 404 (as for /api).
  const notFound = (req: FastifyRequest, reply: FastifyReply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split("?")[0]}`, issues: [] });
  app.all("/admin", notFound);
  app.all("/admin/*", notFound);
};
