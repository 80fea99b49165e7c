// POST /api/partners: add a partner. Answers 201 with the partner and, when Herald generated
// it, the secret: shown this once only.
// Bearer auth for every /api/ URL is installed once, in app.ts.
import type { FastifyPluginAsync } from "fastify";
import { addPartner } from "../partners/service.ts";
import { jsonObjectBody } from "./json-body.ts";

export const partnerRoutes: FastifyPluginAsync<{ rt: Parameters<typeof addPartner>[0] }> = async (app, { rt }) => {
  app.post("/api/partners", async (req, reply) => {
    const r = await addPartner(rt, jsonObjectBody(req.body));
    return reply.code(201).send({ ...r.partner, ...(r.generatedSecret ? { secret: r.generatedSecret } : {}) });
  });
};
