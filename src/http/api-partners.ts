// POST /api/partners: add a partner. Answers 201 with the partner and, when Herald generated
// it, the secret: shown this once only.
// The bearer guard is this plugin's own: Fastify hooks are scoped to the plugin that adds them,
// so the onRequest hook inside api-releases.ts does not reach routes registered here.
import type { FastifyPluginAsync } from "fastify";
import { invalid } from "../errors.ts";
import { addPartner } from "../partners/service.ts";
import type { Runtime } from "../runtime.ts";
import { bearerAuth } from "./auth.ts";

export const partnerRoutes: FastifyPluginAsync<{ rt: Runtime; apiToken: string }> = async (app, { rt, apiToken }) => {
  app.addHook("onRequest", bearerAuth(apiToken));
  app.post("/api/partners", async (req, reply) => {
    const body = req.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw invalid("the request body must be a JSON object (content-type: application/json)");
    }
    const r = await addPartner(rt, body);
    return reply.code(201).send({ ...r.partner, ...(r.generatedSecret ? { secret: r.generatedSecret } : {}) });
  });
};
