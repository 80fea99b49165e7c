// The email channel: a public release event becomes one job on the alerts queue (alerts.ts
// finds the immediate readers and queues send batches); digests run on their schedule
// (jobs/schedules.ts), not on events. Owns the alerts, emails and digests processors.
import type { Channel } from "../channel.ts";
import { type AlertJob, jobId, QUEUE } from "../jobs/queues.ts";
import { processEmailBatch } from "./send-emails.ts";
import { processAlert } from "./alerts.ts";
import { processDigest } from "./digests.ts";
import { batchSize } from "./fanout.ts";

export const emailChannel: Channel<{ alerts: boolean }> = {
  name: "email",
  idle: { alerts: false },
  async onReleaseEvent(rt, { event: e }) {
    // Readers hear of public events only (partners with embargo access also of embargoed ones).
    if (e.event === "embargoed") return { alerts: false };
    const a: AlertJob = { releaseId: e.releaseId, revision: e.revision, event: e.event };
    await rt.queues[QUEUE.alerts].add(e.event, a, { jobId: jobId.alert(a) });
    return { alerts: true };
  },
  processors: {
    [QUEUE.alerts]: { process: processAlert, options: () => ({ concurrency: 2 }) },
    // EMAIL_RATE_PER_SECOND: batches of batchSize(rate) readers, at most rate/batchSize batches a second.
    [QUEUE.emails]: {
      process: processEmailBatch,
      options: (rt) => ({
        concurrency: 4,
        limiter: {
          max: Math.max(1, Math.floor(rt.config.emailRatePerSecond / batchSize(rt.config.emailRatePerSecond))),
          duration: 1000,
        },
      }),
    },
    [QUEUE.digests]: { process: processDigest },
  },
};
