// From "these readers get this content" to queued send batches: render each segment once,
// store it, then add the readers in batches with addBulk. Batch job ids are deterministic, so
// fanning out the same edition twice queues nothing twice. A digest part packs the readers of
// its many small segments into shared batches (fanOutPart).
import { countStat } from "../metrics.ts";
import { execOrThrow } from "../redis/pipeline.ts";
import type { Runtime } from "../runtime.ts";
import { type EmailBatchJob, jobId, QUEUE } from "../jobs/queues.ts";
import { type LedgerDeps, ledgerOf } from "./ledger.ts";
import { fanoutStep, type Segment, type SegmentDeps, saveSegment, saveSegments, segmentStored } from "./segments.ts";

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
   * Alert shard jobs (mail/alerts.ts, "s{shard}"): which part of the edition these readers are.
   * Each part counts its own readers (a re-run of the part counts them once), and a segment
   * another part already stored is not rendered again (same key, same content). Digest parts
   * pack their batches instead: fanOutDigestPart.
   */
  part?: string;
}

/** What fanning out takes of the runtime: the ledger, the segments, the emails queue, the metrics. */
export type FanoutDeps = LedgerDeps & SegmentDeps & Pick<Runtime, "queues" | "log">;

/**
 * Segments rendered and stored together: a few round trips for many (each pushing the expiry of
 * the pieces they name once: see saveSegments), a bounded number held at once. 50: at 200 the
 * group's rendered texts and command strings lived long enough to reach V8's old generation
 * (~10 MB more peak RSS in the realistic benchmark, for no CPU saved).
 */
const SAVE_GROUP = 50;

export async function fanOutSegments(
  rt: FanoutDeps,
  edition: string,
  kind: EmailBatchJob["kind"],
  plans: SegmentPlan[],
  opts: FanoutOptions = {},
): Promise<FanoutSummary> {
  const ledger = ledgerOf(rt);
  const shards = ledger.shards;
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

/**
 * One digest part: its segments rendered and stored (those another part has not stored
 * already), then its readers, segment after segment in a fixed order, cut into batches of
 * batchSize(rate) readers whatever their segment. Realistic preferences form about one segment
 * per one or two readers; a batch per segment paid the queue's and Redis's fixed costs for each,
 * a packed batch pays them once for up to a hundred readers. The same readers give the same
 * batches (and job ids), so a re-run of the part queues nothing twice.
 */
export async function fanOutDigestPart(
  rt: FanoutDeps,
  edition: string,
  plans: SegmentPlan[],
  part: string,
): Promise<FanoutSummary> {
  const live = plans.filter((p) => p.readers.length > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let renders = 0;
  for (let i = 0; i < live.length; i += SAVE_GROUP) {
    const group = live.slice(i, i + SAVE_GROUP);
    const stored = (await execOrThrow(
      group.reduce((p, plan) => p.exists(rt.key("segment", edition, plan.id)), rt.redis.pipeline()),
    )) as number[];
    const todo = group.filter((_, k) => stored[k] === 0);
    const rendered: [string, Segment][] = [];
    for (const plan of todo) rendered.push([plan.id, await plan.render()]);
    await saveSegments(rt, edition, rendered, { track: true });
    renders += rendered.length;
  }
  if (renders > 0) await countStat(rt, "herald_mjml_renders_total", {}, renders);
  const readers = live.reduce((n, p) => n + p.readers.length, 0);
  await ledgerOf(rt).planned(edition, `p.${part}`, readers);

  const shards = ledgerOf(rt).shards;
  const size = batchSize(rt.config.emailRatePerSecond);
  const jobs: { name: string; data: EmailBatchJob; opts: { jobId: string } }[] = [];
  let ids: string[] = [];
  let runs: [string, number][] = [];
  const cut = () => {
    const data: EmailBatchJob = {
      edition,
      kind: "digest",
      segment: runs[0]![0],
      subscriberIds: ids,
      segments: runs,
      part,
    };
    jobs.push({ name: "send", data, opts: { jobId: jobId.emailBatch(data) } });
    ids = [];
    runs = [];
  };
  for (const plan of live) {
    for (const id of shards.sorted(plan.readers)) {
      const last = runs[runs.length - 1];
      if (last?.[0] === plan.id) last[1] += 1;
      else runs.push([plan.id, 1]);
      ids.push(id);
      if (ids.length === size) cut();
    }
  }
  if (ids.length > 0) cut();
  // Counted before they are queued: the edition's segments go only once every batch of every
  // part is done (segments.ts), and a batch may be done before the next is queued.
  await fanoutStep(rt, edition, "part", part, jobs.length);
  for (let i = 0; i < jobs.length; i += 500) await rt.queues[QUEUE.emails].addBulk(jobs.slice(i, i + 500));
  return { edition, segments: live.length, readers, batches: jobs.length };
}
