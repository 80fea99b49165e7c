// `herald start`: HTTP and workers in one process (or either alone). SIGTERM/SIGINT stop
// accepting requests, let active jobs finish and close Redis; a second signal exits at once.
import type { Command } from "commander";
import { chooseRedis, resolveSecret } from "../boot.ts";
import { buildApp } from "../http/app.ts";
import { startWorkers, type Workers } from "../jobs/workers.ts";
import { upsertSchedules } from "../jobs/schedules.ts";
import { closeMailer } from "../mail/transport.ts";
import { withSecretKey } from "../subscribers/tokens.ts";
import { createLogger } from "../log.ts";
import { redactUrl } from "../redis/connection.ts";
import { dispatchPending } from "../releases/service.ts";
import { createRuntime } from "../runtime.ts";
import { action, CliError, cliConfig } from "./context.ts";

export function registerStart(program: Command): void {
  program
    .command("start")
    .description("run the HTTP server and the queue workers")
    .option("--web-only", "HTTP only (feeds, pages, API); no workers")
    .option("--workers-only", "queue workers only; no HTTP")
    .action(
      action(async (opts: { webOnly?: boolean; workersOnly?: boolean }) => {
        if (opts.webOnly && opts.workersOnly) throw new CliError("--web-only and --workers-only exclude each other");
        const config = cliConfig();
        const log = createLogger(config.logLevel);
        const redis = await chooseRedis(config, true);
        log.info(`using ${redis.how}: ${redactUrl(redis.url)}`);
        const rt = await createRuntime({ config: withSecretKey(config), redisUrl: redis.url, log });
        const requeued = await dispatchPending(rt);
        if (requeued) log.info(`queued ${requeued} release event(s) left over from an earlier run`);

        const workers: Workers | null = opts.webOnly ? null : startWorkers(rt);
        if (workers) await upsertSchedules(rt);
        let app: Awaited<ReturnType<typeof buildApp>> | null = null;
        if (!opts.workersOnly) {
          const token = resolveSecret(config.apiToken, config.varDir, "api-token");
          if (token.generated) log.info(`generated an API token in ${token.file} (set API_TOKEN to choose your own)`);
          else if (token.file) log.info(`API token: ${token.file}`);
          app = await buildApp(rt, { apiToken: token.value });
          await app.listen({ host: config.host, port: config.port });
          log.info(`Herald is listening on http://${config.host}:${config.port} (public URL ${config.publicUrl})`);
        }
        if (workers) log.info(`workers running for: ${workers.workers.map((w) => w.name).join(", ")}`);

        let stopping = false;
        const stop = async (signal: string) => {
          if (stopping) {
            log.warn(`${signal} again: exiting now`);
            process.exit(1);
          }
          stopping = true;
          log.info(`${signal}: finishing active jobs, then stopping (send it again to exit at once)`);
          await app?.close();
          await workers?.close();
          closeMailer(rt);
          await rt.close();
          await redis.embedded?.stop();
          log.info("stopped");
          process.exit(0);
        };
        process.on("SIGTERM", () => void stop("SIGTERM"));
        process.on("SIGINT", () => void stop("SIGINT"));
      }),
    );
}
