// `herald status`: what the queues hold, per queue; --json for scripts.
import type { Command } from "commander";
import { QUEUE_NAMES } from "../jobs/queues.ts";
import { lastDigestRuns } from "../jobs/digests.ts";
import { inspectRedis } from "../redis/check.ts";
import { subscriberStore } from "../subscribers/service.ts";
import type { Runtime } from "../runtime.ts";
import { formatPartnerHealth, partnerHealth } from "../partners/service.ts";
import { action, withRuntime } from "./context.ts";

const STATES = ["waiting", "active", "delayed", "failed", "completed"] as const;

export async function collectStatus(rt: Runtime) {
  const queues: Record<string, Record<(typeof STATES)[number], number>> = {};
  for (const name of QUEUE_NAMES) {
    const counts = await rt.queues[name].getJobCounts(...STATES);
    queues[name] = Object.fromEntries(STATES.map((s) => [s, counts[s] ?? 0])) as Record<(typeof STATES)[number], number>;
  }
  const redis = await inspectRedis(rt.redis);
  const subscribers = await subscriberStore(rt).countByStatus();
  return {
    prefix: rt.config.prefix,
    releases: await rt.releases.count(),
    queues,
    subscribers,
    digestRuns: await lastDigestRuns(rt),
    redis,
    partners: await partnerHealth(rt),
  };
}

export function formatStatus(s: Awaited<ReturnType<typeof collectStatus>>): string {
  const rows = Object.entries(s.queues).map(([name, c]) => [name, ...STATES.map((k) => String(c[k]))]);
  const header = ["queue", ...STATES];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const redis = `Redis ${s.redis.version}: maxmemory-policy ${s.redis.maxmemoryPolicy}, AOF ${s.redis.aofEnabled ? "on" : "off"}, RDB saves ${s.redis.rdbSaves ? "on" : "off"}`;
  return [
    `Herald (prefix ${s.prefix}): ${s.releases} release(s)`,
    redis,
    ...s.redis.problems.map((p) => `  warning: ${p}`),
    "",
    line(header),
    ...rows.map(line),
    "",
    `subscribers: ${Object.entries(s.subscribers).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}`,
    s.digestRuns.length ? "last digest runs:" : "last digest runs: none yet",
    ...s.digestRuns.map((r) => `  ${r.at}  ${r.frequency.padEnd(6)}  ${r.readers} reader(s) in ${r.segments} segment(s)  ${r.edition}`),
    ...formatPartnerHealth(s.partners),
  ].join("\n");
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("queues, releases and channel health")
    .option("--json", "machine-readable output")
    .action(
      action(async (opts: { json?: boolean }) => {
        await withRuntime(async (rt) => {
          const s = await collectStatus(rt);
          process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatStatus(s)}\n`);
        });
      }),
    );
}
