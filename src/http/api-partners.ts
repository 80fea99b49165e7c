// POST /api/partners: add a partner. Answers 201 with the partner and, when Herald generated
// it, the secret: shown this once only.
// Bearer auth for every /api/ URL is installed once, in app.ts.
import type { FastifyPluginAsync } from "fastify";
import { invalid } from "../errors.ts";
import { addPartner } from "../partners/service.ts";
import type { Runtime } from "../runtime.ts";

export const partnerRoutes: FastifyPluginAsync<{ rt: Runtime }> = async (app, { rt }) => {
  app.post("/api/partners", async (req, reply) => {
    const body = req.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw invalid("the request body must be a JSON object (content-type: application/json)");
    }
    const r = await addPartner(rt, body);
    return reply.code(201).send({ ...r.partner, ...(r.generatedSecret ? { secret: r.generatedSecret } : {}) });
  });
};
