// Ops API for email: add or update a subscriber, and run a digest through the queue.
// Bearer auth for every /api/ URL is installed once, in app.ts.
import type { FastifyPluginAsync } from "fastify";
import { invalid } from "../errors.ts";
import { type DigestJob, jobId, QUEUE } from "../jobs/queues.ts";
import { type SubscriberDeps, SubscriberService } from "../subscribers/service.ts";
import { jsonObjectBody } from "./json-body.ts";

export const subscriberApiRoutes: FastifyPluginAsync<{ rt: SubscriberDeps }> = async (app, { rt }) => {
  const service = new SubscriberService(rt);

  /** Body: subscriber fields, plus `confirmed: true` to skip the opt-in email (consent given elsewhere). */
  app.post("/api/subscribers", async (req, reply) => {
    const { confirmed, ...input } = jsonObjectBody(req.body);
    if (confirmed !== undefined && typeof confirmed !== "boolean")
      throw invalid("invalid subscriber: confirmed: true or false", [{ path: "confirmed", message: "true or false" }]);
    const { subscriber: s, created } = await service.upsert(input, { confirmed: confirmed === true });
    return reply
      .code(created ? 201 : 200)
      .send({ id: s.id, email: s.email, status: s.status, frequency: s.frequency, language: s.language });
  });

  /** Enqueues a run for every confirmed reader of the frequency now; `{"dryRun": true}` only counts. */
  app.post<{ Params: { frequency: string } }>("/api/digests/:frequency/run", async (req, reply) => {
    const frequency = req.params.frequency;
    if (frequency !== "daily" && frequency !== "weekly")
      throw invalid(`no digest ${JSON.stringify(frequency)}: use daily or weekly`);
    const dryRun = (req.body as { dryRun?: unknown } | undefined)?.dryRun === true;
    const at = rt.clock.now();
    const data: DigestJob = { frequency, at: new Date(at).toISOString(), dryRun };
    const id = jobId.digestRun(frequency, at);
    await rt.queues[QUEUE.digests].add("run", data, { jobId: id });
    return reply.code(202).send({ jobId: id, frequency, dryRun });
  });
};
