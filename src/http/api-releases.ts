// The releases API: publish, correct, withdraw, read. Invalid input answers 400 with every
// problem listed and stores nothing.
import type { FastifyPluginAsync } from "fastify";
import { checkReleaseId, type ReleaseDeps, ReleaseService } from "../releases/service.ts";
import { jsonObjectBody } from "./json-body.ts";
import { singleValuedQuery } from "./query.ts";

// Bearer auth for every /api/ URL is installed once, in app.ts.
export const releaseRoutes: FastifyPluginAsync<{ rt: ReleaseDeps }> = async (app, { rt }) => {
  const service = new ReleaseService(rt);
  singleValuedQuery(app);

  app.post("/api/releases", async (req, reply) => {
    const r = await service.publish(jsonObjectBody(req.body));
    return reply.code(r.event ? 202 : 200).send({ id: r.id, revision: r.revision, status: r.status, jobId: r.jobId });
  });

  app.put<{ Params: { id: string }; Querystring: { note?: string } }>("/api/releases/:id", async (req, reply) => {
    const body = jsonObjectBody(req.body);
    const note = typeof body.correction === "string" ? body.correction : req.query.note;
    const { correction: _ignored, ...input } = body;
    const r = await service.update(req.params.id, input, note);
    return reply.code(r.event ? 202 : 200).send({ id: r.id, revision: r.revision, status: r.status, jobId: r.jobId });
  });

  app.post<{ Params: { id: string } }>("/api/releases/:id/withdraw", async (req, reply) => {
    const body = (req.body ?? {}) as { note?: unknown };
    const r = await service.withdraw(req.params.id, typeof body.note === "string" ? body.note : undefined);
    return reply.code(r.event ? 202 : 200).send({ id: r.id, revision: r.revision, status: r.status, jobId: r.jobId });
  });

  app.get<{ Params: { id: string } }>("/api/releases/:id", async (req, reply) => {
    const r = await rt.releases.get(checkReleaseId(req.params.id));
    if (!r) return reply.code(404).send({ error: `no release with id ${req.params.id}`, issues: [] });
    return r;
  });
};
