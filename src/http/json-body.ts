// JSON request bodies must be UTF-8. Fastify's own parser decodes the bytes leniently, so
// invalid sequences became U+FFFD and the release was stored with replacement characters in
// it; a client sending Latin-1 or broken bytes gets a 400 that says so instead. After the
// strict decode, Fastify's default parser does the rest (prototype-poisoning protection).
import type { FastifyInstance } from "fastify";
import { invalid } from "../errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The parsed body as a JSON object, or a 400 saying what to send (a JSON array, string or nothing is refused). */
export function jsonObjectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalid("the request body must be a JSON object (content-type: application/json)");
  }
  return body as Record<string, unknown>;
}

export function strictJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (req, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(invalid("the request body is not valid UTF-8: send the JSON encoded as UTF-8"), undefined);
      return;
    }
    parseJson(req, text, done);
  });
}
