// From "these readers get this content" to queued send batches: render each segment once,
// store it, then add the readers in batches with addBulk. Batch job ids are deterministic, so
// fanning out the same edition twice queues nothing twice.
import { countStat } from "../metrics.ts";
import type { Runtime } from "../runtime.ts";
import { type EmailBatchJob, jobId, QUEUE } from "../jobs/queues.ts";
import { Ledger } from "./ledger.ts";
import { Shards } from "../redis/shards.ts";
import { type Segment, saveSegment, segmentStored } from "./segments.ts";

export interface SegmentPlan {
  /** Colon-free: part of job ids. */
  id: string;
  readers: string[];
  render: () => Promise<Segment>;
}

export interface FanoutSummary {
  edition: string;
  segments: number;
  readers: number;
  batches: number;
  /** Alerts: readers left to the delayed pass, waiting for a translation (see alerts.ts). */
  waiting?: number;
}

/** Readers per send job: small enough that the rate limiter stays smooth (see processors.ts). */
export function batchSize(ratePerSecond: number): number {
  return Math.max(1, Math.min(100, ratePerSecond));
}

export interface FanoutOptions {
  /**
   * Digest planning parts (mail/digests.ts) and alert shard jobs (mail/alerts.ts, "s{shard}"):
   * which part of the edition these readers are. Each part counts its own readers per segment
   * (a re-run of the part counts them once), and a segment another part already stored is not
   * rendered again (same key, same content).
   */
  part?: string;
}

export async function fanOutSegments(
  rt: Runtime,
  edition: string,
  kind: EmailBatchJob["kind"],
  plans: SegmentPlan[],
  opts: FanoutOptions = {},
): Promise<FanoutSummary> {
  const ledger = new Ledger(rt.redis, rt.config.prefix, rt.shards);
  const shards = new Shards(rt.config.prefix, rt.shards);
  const size = batchSize(rt.config.emailRatePerSecond);
  const summary: FanoutSummary = { edition, segments: 0, readers: 0, batches: 0 };
  for (const plan of plans) {
    if (plan.readers.length === 0) continue;
    if (opts.part === undefined || !(await segmentStored(rt, edition, plan.id))) {
      await saveSegment(rt, edition, plan.id, await plan.render());
      await countStat(rt, "herald_mjml_renders_total");
    }
    await ledger.planned(edition, opts.part === undefined ? plan.id : `${plan.id}.${opts.part}`, plan.readers.length);
    // By reader shard, then id: with shards, a batch then mostly holds one shard's readers, so its
    // ledger and lease steps are one call each (one shard: sorted by id, as always).
    const readers = shards.sorted(plan.readers);
    const jobs = [];
    for (let i = 0; i < readers.length; i += size) {
      const data: EmailBatchJob = { edition, kind, segment: plan.id, subscriberIds: readers.slice(i, i + size) };
      jobs.push({ name: "send", data, opts: { jobId: jobId.emailBatch(data) } });
    }
    for (let i = 0; i < jobs.length; i += 500) await rt.queues[QUEUE.emails].addBulk(jobs.slice(i, i + 500));
    summary.segments += 1;
    summary.readers += readers.length;
    summary.batches += jobs.length;
  }
  return summary;
}
