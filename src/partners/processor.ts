// The partners queue's processor: "fanout" (one per release event) and "deliver" (one per
// partner and event), with the worker tuning that makes the retry schedule and isolation work.
import type { Job, WorkerOptions } from "bullmq";
import type { PartnerDeliveryJob, PartnerFanoutJob } from "../jobs/queues.ts";
import type { Runtime } from "../runtime.ts";
import { partnerBackoff } from "./backoff.ts";
import { type DeliverDeps, deliver } from "./deliver.ts";
import { queuePartnerDeliveries } from "./fanout.ts";

export async function processPartnerJob(
  job: Job<PartnerFanoutJob | PartnerDeliveryJob>,
  rt: DeliverDeps & Pick<Runtime, "queues">,
): Promise<unknown> {
  if (job.name === "fanout") return queuePartnerDeliveries(rt, job.data as PartnerFanoutJob);
  if (job.name === "deliver") return deliver(job as Job<PartnerDeliveryJob>, rt);
  throw new Error(`unknown partners job ${job.name}`);
}

/**
 * Many slots, because a delivery mostly waits on the network; the per-partner in-flight limit
 * (deliver.ts) keeps one partner from taking them all. The custom backoff "partner" named in
 * the queue's default job options is the retry schedule.
 */
export function partnerWorkerOptions(rt: Pick<Runtime, "config">): Partial<WorkerOptions> {
  return {
    concurrency: rt.config.partnerConcurrency,
    settings: { backoffStrategy: partnerBackoff(rt.config.partnerRetrySchedule) },
  };
}
