// `herald status`: what the queues hold and how many workers serve each queue; --json for scripts.
// `herald healthcheck`: the container healthcheck of every role (see docker-compose.yml).
import type { Command } from "commander";
import { QUEUE_NAMES } from "../jobs/queues.ts";
import { lastDigestRuns } from "../mail/digests.ts";
import { inspectRedis } from "../redis/check.ts";
import { subscriberStore } from "../subscribers/service.ts";
import type { Runtime } from "../runtime.ts";
import { formatPartnerHealth, partnerHealth } from "../partners/service.ts";
import { action, CliError, withRuntime } from "./context.ts";
import { connectedWorkers } from "./wait.ts";

const STATES = ["waiting", "active", "delayed", "failed", "completed"] as const;

/** What `herald status` reads of the runtime. */
type StatusDeps = Pick<Runtime, "queues" | "redis" | "key" | "config" | "shards" | "subscribers" | "releases">;

export async function collectStatus(rt: StatusDeps) {
  const queues: Record<string, Record<(typeof STATES)[number], number>> = {};
  for (const name of QUEUE_NAMES) {
    const counts = await rt.queues[name].getJobCounts(...STATES);
    queues[name] = Object.fromEntries(STATES.map((s) => [s, counts[s] ?? 0])) as Record<
      (typeof STATES)[number],
      number
    >;
  }
  const workers: Record<string, number | null> = {};
  for (const name of QUEUE_NAMES) workers[name] = await connectedWorkers(rt, name);
  const redis = await inspectRedis(rt.redis);
  const subscribers = await subscriberStore(rt).countByStatus();
  return {
    prefix: rt.config.prefix,
    /** The buckets the readers' data is split into (REDIS_SHARDS, as recorded with the data: redis/shards.ts). */
    shards: rt.shards,
    releases: await rt.releases.count(),
    queues,
    /** Worker connections per queue, across every process on this Redis (null: Redis hides its client list). */
    workers,
    subscribers,
    digestRuns: await lastDigestRuns(rt),
    redis,
    partners: await partnerHealth(rt),
  };
}

export function formatStatus(s: Awaited<ReturnType<typeof collectStatus>>): string {
  const rows = Object.entries(s.queues).map(([name, c]) => [
    name,
    ...STATES.map((k) => String(c[k])),
    String(s.workers[name] ?? "?"),
  ]);
  const header = ["queue", ...STATES, "workers"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const redis = `Redis ${s.redis.version}: maxmemory-policy ${s.redis.maxmemoryPolicy}, AOF ${s.redis.aofEnabled ? "on" : "off"}, RDB saves ${s.redis.rdbSaves ? "on" : "off"}`;
  return [
    `Herald (prefix ${s.prefix}): ${s.releases} release(s)`,
    redis,
    ...s.redis.problems.map((p) => `  warning: ${p}`),
    "",
    line(header),
    ...rows.map(line),
    ...(Object.values(s.workers).every((n) => n === 0)
      ? ["no worker is connected: jobs wait until `npx herald start` (or --workers-only) runs"]
      : []),
    "",
    `subscribers: ${
      Object.entries(s.subscribers)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "none"
    }; readers' data in ${s.shards} shard(s) (REDIS_SHARDS)`,
    s.digestRuns.length ? "last digest runs:" : "last digest runs: none yet",
    ...s.digestRuns.map(
      (r) => `  ${r.at}  ${r.frequency.padEnd(6)}  ${r.readers} reader(s) in ${r.segments} segment(s)  ${r.edition}`,
    ),
    ...formatPartnerHealth(s.partners),
  ].join("\n");
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("queues, connected workers, releases and channel health")
    .option("--json", "machine-readable output")
    .action(
      action(async (opts: { json?: boolean }) => {
        await withRuntime(async (rt) => {
          const s = await collectStatus(rt);
          process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatStatus(s)}\n`);
        });
      }),
    );

  program
    .command("healthcheck")
    .description("exit 0 when Redis answers (with --workers: when every queue has a connected worker)")
    .option("--workers", "also require at least one connected worker for every queue")
    .action(
      action(async (opts: { workers?: boolean }) => {
        await withRuntime(async (rt) => {
          const pong = await rt.redis.ping();
          if (pong !== "PONG") throw new CliError(`Redis answered ${JSON.stringify(pong)} to PING`);
          if (!opts.workers) return;
          const missing: string[] = [];
          for (const name of QUEUE_NAMES) if ((await connectedWorkers(rt, name)) === 0) missing.push(name);
          if (missing.length) throw new CliError(`no worker is running for queue(s) ${missing.join(", ")}`);
        });
      }),
    );
}
