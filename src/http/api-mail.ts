// POST /api/mail/feedback: a bounce report (DSN) or complaint (ARF) as it arrived by mail, as
// the body (Content-Type message/rfc822), for a mail server or mailbox poller that can POST
// rather than pipe into `herald mail feedback`. Same reading and the same outcome (feedback.ts).
// Bearer auth for every /api/ URL is installed once, in app.ts.
import type { FastifyPluginAsync } from "fastify";
import { HeraldError } from "../errors.ts";
import { type FeedbackDeps, processFeedback } from "../mail/feedback.ts";

const FEEDBACK_TYPES = ["message/rfc822", "text/plain"];

export const mailApiRoutes: FastifyPluginAsync<{ rt: FeedbackDeps }> = async (app, { rt }) => {
  // Bodies up to the API's limit (1 MiB, as every API body); the CLI reads up to MAX_FEEDBACK_BYTES.
  app.addContentTypeParser(FEEDBACK_TYPES, { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.post("/api/mail/feedback", async (req) => {
    // JSON (or any other type the app parses) is refused here rather than read as no message.
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (!FEEDBACK_TYPES.includes(type)) {
      throw new HeraldError(
        "HERALD_UNSUPPORTED_MEDIA_TYPE",
        `send the report as it arrived, as the body, with content-type: message/rfc822 (got ${type || "none"})`,
        415,
      );
    }
    return processFeedback(rt, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
  });
};
