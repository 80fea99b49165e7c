// The Fastify app: health, the API, and each channel's pages. Routes live in one file per area;
// this file wires them and turns every error into a JSON answer with a reason.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from "fastify";
import http from "node:http";
import { HeraldError } from "../errors.ts";
import { feedCache } from "../feeds/build.ts";
import { FeedReader } from "../feeds/reader.ts";
import type { Runtime } from "../runtime.ts";
import { adminRoutes } from "./admin.ts";
import { bearerAuth } from "./auth.ts";
import { releaseRoutes } from "./api-releases.ts";
import { RequestDurations } from "./durations.ts";
import { feedPolls } from "./feed-polls.ts";
import { feedRoutes } from "./feeds.ts";
import { partnerRoutes } from "./api-partners.ts";
import { healthRoutes } from "./health.ts";
import { installMetrics } from "./metrics.ts";
import { strictJsonBodies } from "./json-body.ts";
import { subscriberApiRoutes } from "./api-subscribers.ts";
import { mailApiRoutes } from "./api-mail.ts";
import { peopleRoutes } from "./people.ts";
import { lazyChildLogger } from "./request-log.ts";

export const BODY_LIMIT = 1024 * 1024;
/** Fastify's default, which its own server would get. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export interface AppOptions {
  /** The bearer token the API requires (resolved from API_TOKEN or var/api-token). */
  apiToken: string;
  /** Signs subscriber links (SECRET_KEY or var/secret-key); defaults to rt.config.secretKey. */
  secretKey?: string;
}

export async function buildApp(rt: Runtime, opts: AppOptions): Promise<FastifyInstance> {
  const durations = new RequestDurations();
  const reader = new FeedReader(feedCache(rt), rt.clock);
  const answerEarly = feedPolls(reader, durations);
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    loggerInstance: rt.log as FastifyBaseLogger,
    // Request lines would drown the job logs; /metrics has the request durations.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    trustProxy: true,
    // Fastify's own server, with one step in front: polls of a feed held in memory are answered
    // before routing (feed-polls.ts). Hooks added below must therefore not be needed by GET
    // /feeds/… files; the bearer check, for one, concerns /api only.
    serverFactory: (handler, options) => {
      const server = http.createServer((req, res) => {
        if (!answerEarly(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = Number(options.keepAliveTimeout ?? KEEP_ALIVE_TIMEOUT_MS);
      server.requestTimeout = Number(options.requestTimeout ?? 0);
      server.setTimeout(Number(options.connectionTimeout ?? 0));
      return server;
    },
  });
  reader.listen(rt.redisTarget);
  app.addHook("onClose", () => reader.close());
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof HeraldError) {
      return reply.code(err.status).send({ error: err.message, code: err.code, issues: err.issues });
    }
    if (err.statusCode === 413) {
      const limit = req.routeOptions.bodyLimit ?? BODY_LIMIT;
      return reply.code(413).send({ error: `request body is larger than ${limit} bytes (${limit / 1024 / 1024} MiB)`, issues: [] });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.message, code: err.code, issues: [] });
    }
    if (isRedisDown(err)) {
      return reply.code(503).header("retry-after", "5").send({ error: "Redis is unreachable; try again shortly", issues: [] });
    }
    req.log.error({ err }, "request failed");
    return reply.code(500).send({ error: "internal error", issues: [] });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split("?")[0]}` }));

  // Every /api/ URL needs the token. On the root instance, so it reaches routes in every plugin
  // (a hook added inside a plugin covers that plugin's routes only).
  app.addHook("onRequest", bearerAuth(opts.apiToken));

  strictJsonBodies(app);
  installMetrics(app, rt, durations);
  await app.register(healthRoutes, { rt });
  await app.register(adminRoutes, { rt });
  await app.register(releaseRoutes, { rt });
  await app.register(feedRoutes, { rt, reader });
  await app.register(partnerRoutes, { rt });
  await app.register(subscriberApiRoutes, { rt });
  await app.register(mailApiRoutes, { rt });
  await app.register(peopleRoutes, { rt, secretKey: opts.secretKey });
  return app;
}

function isRedisDown(err: Error): boolean {
  // READONLY: a demoted primary (the connection is re-made to the new one); CLUSTERDOWN, MOVED
  // and TRYAGAIN: a cluster failing over or moving slots; the rest: no Redis reachable.
  return /Stream isn't writeable|Connection is closed|ECONNREFUSED|enableOfflineQueue|^READONLY|^CLUSTERDOWN|^MOVED|^TRYAGAIN|All sentinels are unreachable|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready/i.test(
    err.message,
  );
}
