// The Fastify app: health, the API, and each channel's pages. Routes live in one file per area;
// this file wires them and turns every error into a JSON answer with a reason.
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerFactory,
  LogController,
} from "fastify";
import http from "node:http";
import { HeraldError } from "../errors.ts";
import { feedCache } from "../feeds/build.ts";
import { FeedMemo } from "../feeds/memo.ts";
import type { Runtime } from "../runtime.ts";
import { installAccess, routeTable, withAccess } from "./access.ts";
import { adminRoutes } from "./admin.ts";
import { releaseRoutes } from "./api-releases.ts";
import { RequestDurations } from "./durations.ts";
import { type EarlyAnswer, FEED_ROUTES, feedPolls } from "./feed-polls.ts";
import { feedRoutes } from "./feeds.ts";
import { frontRoutes } from "./front.ts";
import { partnerRoutes } from "./api-partners.ts";
import { healthRoutes } from "./health.ts";
import { installMetrics } from "./metrics.ts";
import { strictJsonBodies } from "./json-body.ts";
import { subscriberApiRoutes } from "./api-subscribers.ts";
import { mailApiRoutes } from "./api-mail.ts";
import { peopleRoutes } from "./people.ts";
import { lazyChildLogger } from "./request-log.ts";

export const BODY_LIMIT = 1024 * 1024;

export interface AppOptions {
  /** The bearer token the API requires (resolved from API_TOKEN or var/api-token). */
  apiToken: string;
  /** Signs subscriber links (SECRET_KEY or var/secret-key); defaults to rt.config.secretKey. */
  secretKey?: string;
}

export async function buildApp(rt: Runtime, opts: AppOptions): Promise<FastifyInstance> {
  const durations = new RequestDurations();
  const memo = new FeedMemo(feedCache(rt), rt.clock);
  const answerEarly = feedPolls(memo, durations);
  const c = rt.config;
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    loggerInstance: rt.log as FastifyBaseLogger,
    // Request lines would drown the job logs; /metrics has the request durations.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    // X-Forwarded-For is believed only from the proxies TRUST_PROXY names (off by default):
    // req.ip, which the login lock and the rate limits key on, is otherwise the socket's peer.
    // (Fastify takes a hop count too, though its types leave the number out.)
    trustProxy: c.trustProxy as boolean | string[],
    // One spelling per route. Access does not depend on it (access.ts decides on the matched
    // route), but fewer spellings reach a handler: no trailing-slash or duplicate-slash twins,
    // case matters, and `;` is part of the path.
    routerOptions: {
      ignoreTrailingSlash: false,
      ignoreDuplicateSlashes: false,
      caseSensitive: true,
      ...{ useSemicolonDelimiter: false },
    },
    // Slow clients: a request (headers and body) must arrive within REQUEST_TIMEOUT_MS, its
    // headers within HEADERS_TIMEOUT_MS; a silent socket is closed after CONNECTION_TIMEOUT_MS.
    requestTimeout: c.requestTimeoutMs,
    connectionTimeout: c.connectionTimeoutMs,
    keepAliveTimeout: c.keepAliveTimeoutMs,
    maxRequestsPerSocket: c.maxRequestsPerSocket,
    serverFactory: serverWithEarlyAnswer(c, answerEarly),
  });
  memo.listen(rt.redisTarget);
  app.addHook("onClose", () => memo.close());
  app.setErrorHandler(errorAnswer);
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split("?")[0]}`, issues: [] }),
  );

  // Who may call what is declared by each route (access.ts); before any route is added, on the
  // root instance, so its hooks run first in every scope.
  installAccess(app, rt, { apiToken: opts.apiToken, adminPassword: c.adminPassword, metricsToken: c.metricsToken });

  strictJsonBodies(app);
  installMetrics(app, rt, durations);
  await registerRoutes(app, rt, memo, opts);
  earlyAnswersArePublic(app);
  return app;
}

/**
 * Fastify's own server, with one step in front: polls of a feed held in memory are answered
 * before routing (feed-polls.ts). Those are GETs of public routes only (earlyAnswersArePublic),
 * so the access check, which runs on routes, has nothing to guard there.
 */
function serverWithEarlyAnswer(c: Runtime["config"], answerEarly: EarlyAnswer): FastifyServerFactory {
  return (handler) => {
    const server = http.createServer(
      {
        requestTimeout: c.requestTimeoutMs,
        headersTimeout: c.headersTimeoutMs,
        keepAliveTimeout: c.keepAliveTimeoutMs,
        // How often Node looks for requests past their timeout (its default is 30 s).
        connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(c.headersTimeoutMs / 4))),
      },
      (req, res) => {
        if (!answerEarly(req, res)) handler(req, res);
      },
    );
    server.maxRequestsPerSocket = c.maxRequestsPerSocket;
    server.setTimeout(c.connectionTimeoutMs);
    return server;
  };
}

/** Every error as JSON with a reason: ours with their status, a client's 4xx as is, Redis down 503, the rest 500. */
function errorAnswer(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof HeraldError) {
    return reply.code(err.status).send({ error: err.message, code: err.code, issues: err.issues });
  }
  if (err.statusCode === 413) {
    const limit = req.routeOptions.bodyLimit ?? BODY_LIMIT;
    return reply
      .code(413)
      .send({ error: `request body is larger than ${limit} bytes (${limit / 1024 / 1024} MiB)`, issues: [] });
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return reply.code(err.statusCode).send({ error: err.message, code: err.code, issues: [] });
  }
  if (isRedisDown(err)) {
    return reply
      .code(503)
      .header("retry-after", "5")
      .send({ error: "Redis is unreachable; try again shortly", issues: [] });
  }
  req.log.error({ err }, "request failed");
  return reply.code(500).send({ error: "internal error", issues: [] });
}

/** Every area's routes, each plugin in a scope that declares who may call it (access.ts). */
async function registerRoutes(app: FastifyInstance, rt: Runtime, memo: FeedMemo, opts: AppOptions): Promise<void> {
  await app.register(withAccess("public", healthRoutes), { rt });
  await app.register(adminRoutes, { rt });
  await app.register(withAccess("api", releaseRoutes), { rt });
  await app.register(withAccess("public", feedRoutes), { rt, memo });
  await app.register(withAccess("public", frontRoutes), { rt });
  await app.register(withAccess("api", partnerRoutes), { rt });
  await app.register(withAccess("api", subscriberApiRoutes), { rt });
  await app.register(withAccess("api", mailApiRoutes), { rt });
  await app.register(withAccess("reader", peopleRoutes), { rt, secretKey: opts.secretKey });
  // Any other /api URL, any method: the token first, then 404; a caller without the token cannot
  // tell which API routes exist. (The router prefers every real route over this wildcard.)
  await app.register(
    withAccess("api", async (scope) => {
      scope.all("/api", apiNotFound);
      scope.all("/api/*", apiNotFound);
    }),
  );
}

/** The early answer serves these routes without Fastify's hooks: they must stay public. */
function earlyAnswersArePublic(app: FastifyInstance): void {
  for (const url of Object.values(FEED_ROUTES)) {
    const entry = routeTable(app).find((r) => r.method === "GET" && r.url === url);
    if (entry?.access !== "public")
      throw new Error(
        `feed-polls.ts answers GET ${url} before routing, so it must be public (it is ${entry?.access ?? "missing"})`,
      );
  }
}

/** Fastify's default maxParamLength: a longer path segment matches no parametric route. */
const MAX_PARAM_LENGTH = 100;

function apiNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = req.url.split("?")[0]!;
  // An id longer than the router takes would otherwise look like a missing route.
  if (path.split("/").some((segment) => segment.length > MAX_PARAM_LENGTH)) {
    return reply.code(414).send({ error: `a path segment is longer than ${MAX_PARAM_LENGTH} characters`, issues: [] });
  }
  return reply.code(404).send({ error: `no route ${req.method} ${path}`, issues: [] });
}

function isRedisDown(err: Error): boolean {
  // READONLY: a demoted primary (the connection is re-made to the new one); CLUSTERDOWN, MOVED
  // and TRYAGAIN: a cluster failing over or moving slots; the rest: no Redis reachable.
  return /Stream isn't writeable|Connection is closed|ECONNREFUSED|enableOfflineQueue|^READONLY|^CLUSTERDOWN|^MOVED|^TRYAGAIN|All sentinels are unreachable|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready/i.test(
    err.message,
  );
}
