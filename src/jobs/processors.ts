// Which function processes which queue. One processor per file, a plain async function of the
// job and the runtime; worker tuning (concurrency, rate limits, backoff) sits beside it.
import type { Job, WorkerOptions } from "bullmq";
import type { Runtime } from "../runtime.ts";
import { type QueueName, QUEUE } from "./queues.ts";
import { processReleaseEvent } from "./release-events.ts";
import { processFeedRebuild } from "./feed-rebuild.ts";
import { processWebsubPing } from "./websub-ping.ts";
import { partnerWorkerOptions, processPartnerJob } from "../partners/processor.ts";

export interface ProcessorSpec {
  // biome-ignore lint/suspicious/noExplicitAny: each processor narrows its own payload type
  process: (job: Job<any>, rt: Runtime) => Promise<unknown>;
  options?: (rt: Runtime) => Partial<WorkerOptions>;
}

export const PROCESSORS: Partial<Record<QueueName, ProcessorSpec>> = {
  [QUEUE.releaseEvents]: { process: processReleaseEvent, options: () => ({ concurrency: 4 }) },
  [QUEUE.feeds]: { process: processFeedRebuild, options: () => ({ concurrency: 4 }) },
  [QUEUE.websub]: { process: processWebsubPing, options: () => ({ concurrency: 2 }) },
  [QUEUE.partners]: { process: processPartnerJob, options: partnerWorkerOptions },
};
