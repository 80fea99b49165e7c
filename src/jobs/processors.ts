// Which function processes which queue. One processor per file, a plain async function of the
// job and the runtime; worker tuning (concurrency, rate limits, backoff) sits beside it.
import type { Job, WorkerOptions } from "bullmq";
import type { Runtime } from "../runtime.ts";
import { type QueueName, QUEUE } from "./queues.ts";
import { processReleaseEvent } from "./release-events.ts";
import { processFeedRebuild } from "./feed-rebuild.ts";
import { processWebsubPing } from "./websub-ping.ts";
import { partnerWorkerOptions, processPartnerJob } from "../partners/processor.ts";
import { processAlert } from "./alerts.ts";
import { processEmailBatch } from "./send-emails.ts";
import { batchSize } from "../mail/fanout.ts";
import { processDigest } from "./digests.ts";

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
  [QUEUE.alerts]: { process: processAlert, options: () => ({ concurrency: 2 }) },
  // EMAIL_RATE_PER_SECOND: batches of batchSize(rate) readers, at most rate/batchSize batches a second.
  [QUEUE.emails]: {
    process: processEmailBatch,
    options: (rt) => ({
      concurrency: 4,
      limiter: { max: Math.max(1, Math.floor(rt.config.emailRatePerSecond / batchSize(rt.config.emailRatePerSecond))), duration: 1000 },
    }),
  },
  [QUEUE.digests]: { process: processDigest },
};
