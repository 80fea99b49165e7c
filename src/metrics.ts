// Metrics. Work happens in worker processes that serve no HTTP, so channel counters live in
// Redis (one hash, HINCRBY) and every web process exposes the same cluster-wide totals at
// /metrics; queue depths are read from BullMQ at scrape time. HTTP durations and process
// metrics are per process, as Prometheus expects. The registry that exposes them lives with the
// route (http/metrics.ts): worker processes count, and never load prom-client.
import type { Runtime } from "./runtime.ts";

/** Counters kept in Redis: help text and label names. Names follow Prometheus conventions. */
export const STATS = {
  herald_emails_sent_total: ["Emails accepted by the SMTP server (or written to the outbox), by kind", ["kind"]],
  herald_emails_bounced_total: [
    "Recipients marked bounced: a permanent SMTP refusal, or a bounce report (DSN) later",
    [],
  ],
  herald_emails_complained_total: ["Recipients marked complained by a feedback-loop report (ARF)", []],
  herald_emails_skipped_total: [
    "Readers an email batch run did not send to, by reason (unsubscribed, suppressed, erased, not-confirmed, already-confirmed, has-newer-digest, story-claimed, release-withdrawn, segment-expired; already-sent and held-by-other-run count re-runs, not skips of the edition)",
    ["reason"],
  ],
  herald_webhooks_delivered_total: ["Partner deliveries answered 2xx, by partner", ["partner"]],
  herald_webhooks_failed_total: ["Partner delivery attempts that failed (and will retry), by partner", ["partner"]],
  herald_webhooks_dead_lettered_total: ["Partner deliveries that exhausted their retries, by partner", ["partner"]],
  herald_feed_rebuilds_total: ["Feed rebuilds, by feed kind (all, topics, regions, languages)", ["kind"]],
  herald_feed_rebuild_seconds_total: [
    "Seconds spent rebuilding feeds, by feed kind (divide by herald_feed_rebuilds_total)",
    ["kind"],
  ],
  herald_mjml_renders_total: ["MJML templates rendered to HTML (one per segment, not per reader)", []],
  herald_jobs_completed_total: ["Jobs completed, by queue", ["queue"]],
  herald_jobs_failed_total: ["Job attempts that failed, by queue", ["queue"]],
} as const satisfies Record<string, readonly [string, readonly string[]]>;

export type StatName = keyof typeof STATS;
export type Labels = Record<string, string>;

function field(name: StatName, labels: Labels): string {
  return `${name}|${JSON.stringify(Object.fromEntries(Object.entries(labels).sort()))}`;
}

/** Adds `n` to a Redis-kept counter. Never throws: metrics must not fail the work they count. */
export async function countStat(
  rt: Pick<Runtime, "redis" | "key" | "log">,
  name: StatName,
  labels: Labels = {},
  n = 1,
): Promise<void> {
  if (n === 0) return;
  try {
    await rt.redis.hincrbyfloat(rt.key("stats"), field(name, labels), n);
  } catch (err) {
    rt.log.warn({ err, stat: name }, "could not count a metric");
  }
}

/** Every Redis-kept counter with its labels and value. */
export async function readStats(
  rt: Pick<Runtime, "redis" | "key">,
): Promise<{ name: StatName; labels: Labels; value: number }[]> {
  const all = await rt.redis.hgetall(rt.key("stats"));
  return Object.entries(all).map(([f, v]) => {
    const sep = f.indexOf("|");
    return { name: f.slice(0, sep) as StatName, labels: JSON.parse(f.slice(sep + 1)) as Labels, value: Number(v) };
  });
}
