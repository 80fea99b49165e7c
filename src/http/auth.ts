// Bearer-token check for the API: constant-time, and the same 401 for a missing or wrong token.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function bearerAuth(token: string) {
  const expected = digest(token);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization ?? "";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || !timingSafeEqual(digest(m[1]!), expected)) {
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="herald"')
        .send({ error: m ? "wrong API token" : "missing Authorization: Bearer API_TOKEN header", issues: [] });
    }
  };
}
