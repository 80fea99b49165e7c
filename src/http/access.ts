// Who may call each route, decided by the route the router matched, never by the URL's text.
//
// Every route declares its access: `config: { access }` on the route, or declareAccess() on the
// plugin scope it is registered in (withAccess() in app.ts; nested scopes inherit it). An onRoute
// hook reads the declaration when the route is added and throws if there is none, so a route
// cannot be added and forgotten: start-up fails. A route under /api must be `api`, under /admin
// `admin`, and /metrics `metrics`, whatever it declares.
//
// One onRequest hook on the root instance (so it runs first, in every scope) then checks the
// credential of the matched route's access. The router has already decoded and matched the
// path, so every spelling that reaches a route (percent-escapes, case, slashes) gets that
// route's check, and a spelling that reaches no route gets the 404 handler.
//
//   public   anyone (health, feeds, release pages)
//   reader   the reader's pages; anything that acts on a subscription checks the signed token
//            in its link (subscribers/tokens.ts), in the handler
//   api      Authorization: Bearer API_TOKEN
//   admin    basic auth, user admin, password ADMIN_PASSWORD
//   metrics  Authorization: Bearer METRICS_TOKEN when it is set, else public
//
// Failed logins count toward the per-client lock in login-failures.ts; secrets are compared in
// constant time (timingSafeEqual over SHA-256 digests, so lengths never differ).
import { createHash, timingSafeEqual } from "node:crypto";
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  RouteOptions,
} from "fastify";
import { LoginFailures } from "./login-failures.ts";
import type { Runtime } from "../runtime.ts";

export const ACCESS = ["public", "reader", "api", "admin", "metrics"] as const;
export type Access = (typeof ACCESS)[number];

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call the route (access.ts). */
    access?: Access;
  }
}

export const ADMIN_USER = "admin";

const SCOPE_ACCESS = Symbol("herald.access");

/** Every route added in `scope` (and scopes registered inside it) gets `access` unless it declares its own. */
export function declareAccess(scope: FastifyInstance, access: Access): void {
  (scope as unknown as Record<symbol, Access>)[SCOPE_ACCESS] = access;
}

/** `plugin`, registered in a scope that declares `access`. */
export function withAccess<O extends Record<string, unknown>>(
  access: Access,
  plugin: FastifyPluginAsync<O>,
): FastifyPluginAsync<O> {
  return async (scope, opts) => {
    declareAccess(scope, access);
    await scope.register(plugin, opts);
  };
}

/** The access a route must have because of where it lives, whatever it declares. */
function accessByPath(url: string): Access | undefined {
  const u = url.toLowerCase();
  const under = (p: string) => u === p || u.startsWith(`${p}/`);
  if (under("/api")) return "api";
  if (under("/admin")) return "admin";
  if (under("/metrics")) return "metrics";
  return undefined;
}

export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

const tables = new WeakMap<FastifyInstance, RouteAccess[]>();

/** Every route added to `app` (HEAD twins included) with its access, in the order added. */
export function routeTable(app: FastifyInstance): readonly RouteAccess[] {
  return tables.get(app) ?? [];
}

const digest = (s: string) => createHash("sha256").update(s).digest();
const sameSecret = (given: string, expected: Buffer) => timingSafeEqual(digest(given), expected);

function bearerOf(req: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
}

/** "user:password" of a Basic header in canonical base64 (Node's decoder ignores stray characters). */
function basicOf(req: FastifyRequest): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? "");
  if (!m) return undefined;
  const bytes = Buffer.from(m[1]!, "base64");
  return bytes.toString("base64") === m[1] ? bytes.toString("utf8") : undefined;
}

interface Check {
  /** Nothing to check (metrics without METRICS_TOKEN). */
  open: boolean;
  verify(req: FastifyRequest): boolean;
  refuse(reply: FastifyReply, presented: boolean): FastifyReply;
  what: string;
}

export interface AccessOptions {
  apiToken: string;
  adminPassword?: string;
  metricsToken?: string;
}

/** Must run on the root instance before any route is added. */
export function installAccess(app: FastifyInstance, rt: Pick<Runtime, "redis" | "config">, opts: AccessOptions): void {
  const table: RouteAccess[] = [];
  tables.set(app, table);
  const failures = new LoginFailures(
    rt.redis,
    rt.config.prefix,
    rt.config.authMaxFailures,
    rt.config.authFailureWindowS,
  );
  app.addHook("onRoute", declaredAccess(table));
  app.addHook("onRequest", accessCheck(credentialChecks(opts), failures, rt.config.authMaxFailures));
}

/** The onRoute hook: refuses a route without a valid access for its place, and records it in `table`. */
function declaredAccess(table: RouteAccess[]) {
  // A `function`, not an arrow: Fastify calls it with `this` = the scope the route is added in.
  return function (this: FastifyInstance, route: RouteOptions) {
    const methods = [route.method].flat().map(String);
    const declared = route.config?.access ?? (this as unknown as Record<symbol, Access | undefined>)[SCOPE_ACCESS];
    const where = `${methods.join(",")} ${route.url}`;
    if (declared === undefined) {
      throw new Error(
        `route ${where} declares no access: add config: { access } (one of ${ACCESS.join(", ")}) or register it with withAccess()`,
      );
    }
    if (!ACCESS.includes(declared))
      throw new Error(`route ${where} declares unknown access ${JSON.stringify(declared)}`);
    const required = accessByPath(route.url);
    if (required && declared !== required) {
      throw new Error(`route ${where} declares access ${declared}, but routes there must be ${required}`);
    }
    // The context config is built from route.config after the onRoute hooks: set it there.
    route.config = { ...route.config, access: declared };
    for (const method of methods) table.push({ method, url: route.url, access: declared });
  };
}

/** The credential each guarded access requires, and how a request without it is refused. */
function credentialChecks(opts: AccessOptions): Record<"api" | "admin" | "metrics", Check> {
  const apiToken = digest(opts.apiToken);
  const adminPair = opts.adminPassword === undefined ? undefined : digest(`${ADMIN_USER}:${opts.adminPassword}`);
  const metricsToken = opts.metricsToken === undefined ? undefined : digest(opts.metricsToken);
  const bearerRefusal = (header: string, missing: string, wrong: string) => (reply: FastifyReply, presented: boolean) =>
    reply
      .code(401)
      .header("www-authenticate", header)
      .send({ error: presented ? wrong : missing, issues: [] });

  return {
    api: {
      open: false,
      what: "API token",
      verify: (req) => {
        const t = bearerOf(req);
        return t !== undefined && sameSecret(t, apiToken);
      },
      refuse: bearerRefusal(
        'Bearer realm="herald"',
        "missing Authorization: Bearer API_TOKEN header",
        "wrong API token",
      ),
    },
    admin: {
      open: false,
      what: "dashboard password",
      verify: (req) => {
        const pair = basicOf(req);
        return pair !== undefined && adminPair !== undefined && sameSecret(pair, adminPair);
      },
      refuse: (reply) =>
        reply
          .code(401)
          .header("www-authenticate", 'Basic realm="Herald admin", charset="UTF-8"')
          .send({ error: `the dashboard needs basic auth: user ${ADMIN_USER}, password ADMIN_PASSWORD`, issues: [] }),
    },
    metrics: {
      open: metricsToken === undefined,
      what: "metrics token",
      verify: (req) => {
        const t = bearerOf(req);
        return t !== undefined && metricsToken !== undefined && sameSecret(t, metricsToken);
      },
      refuse: bearerRefusal(
        'Bearer realm="herald metrics"',
        "missing Authorization: Bearer METRICS_TOKEN header",
        "wrong metrics token",
      ),
    },
  };
}

/** The onRequest hook: checks the credential of the matched route's access (`maxFailures` for the log). */
function accessCheck(
  checks: Record<"api" | "admin" | "metrics", Check>,
  failures: LoginFailures,
  maxFailures: number,
): onRequestHookHandler {
  // A callback-style hook: public routes (feeds, pages) pass without allocating a promise.
  return (req, reply, done) => {
    // No route matched: the 404 handler answers, and it reveals nothing.
    if (req.is404) return done();
    const access = req.routeOptions.config.access;
    if (access === "public" || access === "reader") return done();
    const check = access === undefined ? undefined : checks[access];
    if (!check) {
      // Unreachable (onRoute refuses such routes), and refused if it ever is not.
      req.log.error({ route: req.routeOptions.url }, "route without access reached");
      reply.code(500).send({ error: "internal error", issues: [] });
      return;
    }
    if (check.open) return done();
    const presented = Boolean(req.headers.authorization);
    const ok = check.verify(req);
    failures.record(req.ip, presented && !ok).then(
      (v) => {
        if (v.locked) {
          // Not a new failure, and an attacker can send many: debug, not warn.
          req.log.debug(
            { ip: req.ip, route: req.routeOptions.url, failures: v.failures },
            `login refused: client locked (${check.what})`,
          );
          reply
            .code(429)
            .header("retry-after", String(v.retryAfterS))
            .send({ error: `too many failed logins from your address; try again in ${v.retryAfterS} s`, issues: [] });
          return;
        }
        if (ok) return done();
        if (presented) {
          const locks = v.failures >= maxFailures ? `; client locked for ${v.retryAfterS} s` : "";
          req.log.warn(
            { ip: req.ip, route: req.routeOptions.url, failures: v.failures, maxFailures },
            `login failed: wrong ${check.what}${locks}`,
          );
        }
        check.refuse(reply, presented);
      },
      (err: Error) => done(err),
    );
  };
}
