// The dashboard: Bull Board at /admin/queues for every queue, behind basic auth. With no
// ADMIN_PASSWORD it is not mounted at all (and start-up says how to turn it on).
import { timingSafeEqual, createHash } from "node:crypto";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { FastifyPluginAsync } from "fastify";
import type { Runtime } from "../runtime.ts";

export const ADMIN_USER = "admin";
const BASE = "/admin/queues";

const digest = (s: string) => createHash("sha256").update(s).digest();

function basicAuthOk(header: string | undefined, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const sep = decoded.indexOf(":");
  if (sep < 0) return false;
  const userOk = decoded.slice(0, sep) === ADMIN_USER;
  const passOk = timingSafeEqual(digest(decoded.slice(sep + 1)), digest(password));
  return userOk && passOk;
}

export const adminRoutes: FastifyPluginAsync<{ rt: Runtime }> = async (app, { rt }) => {
  const password = rt.config.adminPassword;
  if (!password) return;
  const adapter = new FastifyAdapter();
  createBullBoard({
    queues: Object.values(rt.queues).map((q) => new BullMQAdapter(q)),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: "Herald queues" } },
  });
  adapter.setBasePath(BASE);
  app.addHook("onRequest", async (req, reply) => {
    if (!req.url.startsWith(BASE)) return;
    if (!basicAuthOk(req.headers.authorization, password)) {
      return reply
        .code(401)
        .header("www-authenticate", 'Basic realm="Herald admin", charset="UTF-8"')
        .send({ error: `the dashboard needs basic auth: user ${ADMIN_USER}, password ADMIN_PASSWORD` });
    }
  });
  await app.register(adapter.registerPlugin(), { prefix: BASE });
};
