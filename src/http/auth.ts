// Bearer-token check for the API: constant-time, and the same 401 for a missing or wrong token.
// A callback-style hook on the root instance: it runs on every request (feed polls included),
// so the common case (not /api) returns without allocating a promise.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function isApiUrl(url: string): boolean {
  return url === "/api" || url.startsWith("/api/") || url.startsWith("/api?");
}

export function bearerAuth(token: string) {
  const expected = digest(token);
  return (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (!isApiUrl(req.url)) return done();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (m && timingSafeEqual(digest(m[1]!), expected)) return done();
    reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="herald"')
      .send({ error: m ? "wrong API token" : "missing Authorization: Bearer API_TOKEN header", issues: [] });
  };
}
