// `herald start`: HTTP and workers in one process (or either alone). SIGTERM/SIGINT stop
// accepting requests, let active jobs finish and close Redis, within SHUTDOWN_TIMEOUT_MS; a
// second signal exits at once.
import type { Command } from "commander";
import type { FastifyInstance } from "fastify";
import { chooseRedis, type RedisChoice, resolveSecret } from "../boot.ts";
import type { Config } from "../config/index.ts";
import { enqueueRebuildAll } from "../feeds/feed-rebuild.ts";
import { upsertSchedules } from "../jobs/schedules.ts";
import type { Workers } from "../jobs/workers.ts";
import { createLogger, type Logger } from "../log.ts";
import { brandOf } from "../mail/segments.ts";
import { closeMailer } from "../mail/transport.ts";
import { inspectRedis } from "../redis/check.ts";
import { describeTarget, redactUrl } from "../redis/connection.ts";
import { dispatchPending } from "../releases/service.ts";
import { createRuntime, type Runtime } from "../runtime.ts";
import { subscriberStore } from "../subscribers/service.ts";
import { warmDigestTemplates } from "../templates/messages.ts";
import { mjmlThread } from "../templates/mjml-thread.ts";
import { action, CliError, cliConfig } from "./context.ts";

/** Lines a person needs after start-up: where to go, where mail lands, where the token is. */
export function whereToGo(config: Config, opts: { hasHome: boolean; tokenFile?: string }): string[] {
  const base = config.publicUrl;
  return [
    ...(opts.hasHome ? [`home page:  ${base}/`] : []),
    `subscribe:  ${base}/subscribe`,
    `feeds:      ${base}/feeds`,
    config.smtpUrl
      ? `mail:       sent through ${redactUrl(config.smtpUrl)}`
      : `mail:       written as .eml files to ${config.outboxDir}/ (SMTP_URL is unset)`,
    config.adminPassword
      ? `dashboard:  ${base}/admin/queues (user admin, password ADMIN_PASSWORD)`
      : "dashboard:  off (set ADMIN_PASSWORD to serve Bull Board at /admin/queues)",
    opts.tokenFile
      ? `API token:  ${opts.tokenFile} (API_TOKEN=$(cat ${opts.tokenFile}))`
      : "API token:  API_TOKEN from the environment",
  ];
}

/** The one line for a listen error a person can fix (a busy or forbidden port), else undefined. */
export function listenProblem(err: unknown, host: string, port: number): string | undefined {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "EADDRINUSE") return `port ${port} on ${host} is in use (EADDRINUSE); set PORT (or HOST) to a free one`;
  if (code === "EACCES") return `port ${port} on ${host} is not allowed for this user (EACCES); set PORT above 1023`;
  if (code === "EADDRNOTAVAIL") return `HOST ${host} is not an address of this machine (EADDRNOTAVAIL); set HOST`;
  return undefined;
}

export function registerStart(program: Command): void {
  program
    .command("start")
    .description("run the HTTP server and the queue workers")
    .option("--web-only", "HTTP only (feeds, pages, API); no workers")
    .option("--workers-only", "queue workers only; no HTTP")
    .option("--strict", "refuse to start when Redis may evict keys or has no persistence")
    .action(action(startCommand));
}

interface StartOptions {
  webOnly?: boolean;
  workersOnly?: boolean;
  strict?: boolean;
}

/** What a started process holds, for shutDown to close. */
interface Started {
  config: Config;
  log: Logger;
  redis: RedisChoice;
  rt: Runtime;
  app: FastifyInstance | null;
  workers: Workers | null;
}

async function startCommand(opts: StartOptions): Promise<void> {
  if (opts.webOnly && opts.workersOnly) throw new CliError("--web-only and --workers-only exclude each other");
  const config = cliConfig();
  // Standard output: a server's log is its output (pretty on a terminal, JSON lines otherwise).
  const log = createLogger(config.logLevel, process.stdout);
  const redis = await chooseRedis(config, true);
  log.info(`using ${redis.how}: ${describeTarget(redis.url)}`);
  const rt = await createRuntime({ config, redisUrl: redis.url, log });
  await checkRedisSettings(rt, redis, log, opts.strict);
  await catchUp(rt, log);

  // Fastify and the workers are loaded below, only when this process runs them: other commands
  // start faster, and a --workers-only process does not carry the HTTP stack's memory.
  // HTTP first: a port that is taken stops start-up before any worker takes a job.
  let app: FastifyInstance | null = null;
  let tokenFile: string | undefined;
  if (!opts.workersOnly) {
    const { buildApp } = await import("../http/app.ts");
    const token = resolveSecret(config.apiToken, config.varDir, "api-token");
    if (token.generated) log.info(`generated an API token in ${token.file} (set API_TOKEN to choose your own)`);
    tokenFile = token.file;
    app = await buildApp(rt, { apiToken: token.value });
    await listenOrExit(app, rt, redis, log);
  }
  if (!opts.webOnly) await warmTemplates(rt, log);
  const workers: Workers | null = opts.webOnly ? null : (await import("../jobs/workers.ts")).startWorkers(rt);
  // A fresh install (or a config change) has no built feeds yet: build them now. A build
  // whose inputs did not change writes nothing, so this is cheap on every start.
  if (workers) await enqueueRebuildAll(rt);
  if (workers) await upsertSchedules(rt);
  if (workers) log.info(`workers running for: ${workers.workers.map((w) => w.name).join(", ")}`);
  if (app) announceHttp(app, config, log, tokenFile);
  stopOnSignals({ config, log, redis, rt, app, workers });
}

/** How long start-up waits for the digest templates before it starts the workers anyway. */
const WARM_TIMEOUT_MS = 20_000;

/**
 * The digest templates, compiled before the workers take jobs, while the process is small (see
 * warmDigestTemplates); the MJML thread stops once they are done. Never in the way of the
 * workers: a failure is only logged, and after `timeoutMs` (a starved machine, a renderer that
 * hangs) they start anyway. A digest run compiles what it lacks.
 */
export async function warmTemplates(
  rt: Pick<Runtime, "config" | "taxonomy">,
  log: Pick<Logger, "warn">,
  timeoutMs = WARM_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  const warm = (async () => {
    await warmDigestTemplates(brandOf(rt.config, await rt.taxonomy.current()));
    await mjmlThread.stop();
  })();
  warm.catch(() => {}); // once late, a digest run reports its own failure
  try {
    await Promise.race([warm, late]);
  } catch (err) {
    log.warn(
      { err },
      "digest templates not compiled at start-up; starting the workers (the first digest run compiles them)",
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Warns about a Redis that may lose data (evicts keys, no persistence); with --strict, refuses it. */
async function checkRedisSettings(
  rt: Pick<Runtime, "redis" | "close">,
  redis: RedisChoice,
  log: Logger,
  strict?: boolean,
): Promise<void> {
  const settings = await inspectRedis(rt.redis);
  for (const p of settings.problems) {
    if (strict) {
      await rt.close();
      await redis.embedded?.stop();
      throw new CliError(`refusing to start (--strict): ${p}`);
    }
    log.warn(`Redis: ${p} (fine for development; \`herald start --strict\` refuses this)`);
  }
}

/** Work an earlier run left half done: release events not yet fanned out, the old counter hash. */
async function catchUp(rt: Pick<Runtime, "releases" | "queues" | "clock" | "subscribers">, log: Logger): Promise<void> {
  const requeued = await dispatchPending(rt);
  if (requeued) log.info(`queued ${requeued} release event(s) left over from an earlier run`);
  if (await subscriberStore(rt).migrateCounts())
    log.info("recounted subscribers by status from their records (old counter hash replaced)");
}

/** Listens on HOST:PORT; a port a person can fix (busy, forbidden) closes everything and exits 1 with one line. */
async function listenOrExit(
  app: FastifyInstance,
  rt: Pick<Runtime, "config" | "close">,
  redis: RedisChoice,
  log: Logger,
): Promise<void> {
  const { config } = rt;
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    const problem = listenProblem(err, config.host, config.port);
    if (!problem) throw err;
    await app.close().catch(() => {});
    closeMailer(rt);
    await rt.close().catch(() => {});
    await redis.embedded?.stop();
    process.stderr.write(`herald: ${problem}\n`);
    process.exit(1);
  }
  log.info(
    `Herald is listening on http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port} (public URL ${config.publicUrl})`,
  );
}

function announceHttp(app: FastifyInstance, config: Config, log: Logger, tokenFile: string | undefined): void {
  if (!config.metricsToken)
    log.info("/metrics is open: set METRICS_TOKEN to require Authorization: Bearer METRICS_TOKEN");
  if (config.trustProxy !== false)
    log.info(`X-Forwarded-For believed from TRUST_PROXY=${JSON.stringify(config.trustProxy)}`);
  const hasHome = app.hasRoute({ method: "GET", url: "/" });
  for (const line of whereToGo(config, { hasHome, tokenFile })) log.info(line);
}

/** SIGTERM/SIGINT: a bounded, ordered shutdown; a second signal exits at once. */
function stopOnSignals(s: Started): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      s.log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    s.log.info(`${signal}: finishing active jobs, then stopping (send it again to exit at once)`);
    await shutDown(s);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

async function shutDown({ config, log, redis, rt, app, workers }: Started): Promise<never> {
  // Bounded: with Redis gone, closing a worker or a queue waits for a reply that never
  // comes. After SHUTDOWN_TIMEOUT_MS say what was still running and exit non-zero (a
  // job cut short is taken over by another worker: every job is idempotent).
  const steps: [string, () => Promise<unknown> | unknown][] = [];
  if (app) steps.push(["HTTP server (requests in flight)", () => app?.close()]);
  if (workers) steps.push(["workers (active jobs)", () => workers.close()]);
  steps.push(["mail transport", () => closeMailer(rt)], ["Redis connections and queues", () => rt.close()]);
  if (redis.embedded) steps.push(["embedded redis-server", () => redis.embedded?.stop()]);
  let current = 0;
  const timer = setTimeout(() => {
    const left = steps.slice(current).map(([name]) => name);
    log.error(
      `shutdown did not finish within ${config.shutdownTimeoutMs} ms (SHUTDOWN_TIMEOUT_MS); exiting with work left: ${left.join(", ")}${
        workers ? `; active jobs: ${workers.active().join(", ") || "none"}` : ""
      }`,
    );
    process.exit(1);
  }, config.shutdownTimeoutMs);
  for (; current < steps.length; current++) await steps[current]![1]();
  clearTimeout(timer);
  log.info("stopped");
  process.exit(0);
}
