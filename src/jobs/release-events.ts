// release-events processor: one stored event fans out to the channels (jobs/channels.ts). It
// only queues work (each channel's job ids are deterministic: running it twice queues nothing
// twice); the channels do the work.
import type { Job } from "bullmq";
import type { Channel } from "../channel.ts";
import { ReleaseService } from "../releases/service.ts";
import type { Runtime } from "../runtime.ts";
import { CHANNELS } from "./channels.ts";
import type { LiftEmbargoJob, ReleaseEventJob } from "./queues.ts";

/** One summary per channel, merged: `{ feeds: [...], alerts: true, partners: true }` today. */
export type DispatchResult<C extends readonly Channel[] = typeof CHANNELS> = Merge<SummaryOf<C[number]>>;
type SummaryOf<C> = C extends Channel<infer S> ? S : never;
type Merge<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The release-events processor for a channel list (jobs/processors.ts uses CHANNELS). */
export function releaseEventsProcessor(channels: readonly Channel[] = CHANNELS) {
  return async (job: Job<ReleaseEventJob | LiftEmbargoJob>, rt: Runtime): Promise<object | string> => {
    if (job.name === "lift-embargo") {
      const { releaseId, revision } = job.data as LiftEmbargoJob;
      const done = await new ReleaseService(rt).liftEmbargo(releaseId, revision);
      return done ? `published ${releaseId} r${revision}` : "nothing to lift";
    }
    return dispatchReleaseEvent(rt, job.data as ReleaseEventJob, channels);
  };
}

export const processReleaseEvent = releaseEventsProcessor(CHANNELS);

/** Tells each channel, in list order, about a stored event; answers their merged summaries. */
export async function dispatchReleaseEvent<C extends readonly Channel[] = typeof CHANNELS>(
  rt: Runtime,
  event: ReleaseEventJob,
  channels: C = CHANNELS as unknown as C,
): Promise<DispatchResult<C>> {
  const summary: Record<string, unknown> = {};
  const release = await rt.releases.getRevision(event.releaseId, event.revision);
  if (!release) {
    for (const c of channels) Object.assign(summary, c.idle); // unknown: nothing to fan out
    return summary as DispatchResult<C>;
  }
  const previous = event.revision > 1 ? await rt.releases.getRevision(event.releaseId, event.revision - 1) : null;
  for (const c of channels) Object.assign(summary, await c.onReleaseEvent(rt, { event, release, previous }));
  return summary as DispatchResult<C>;
}
