// What a channel is (email, feeds, partners, and whatever comes next): a folder that owns its
// queues' processors and its reaction to a stored release event. jobs/channels.ts lists them;
// the release-events fan-out (jobs/release-events.ts) and the workers (jobs/workers.ts) loop
// over that list, so they name no channel. See docs/architecture.md, "Add a channel".
import type { Job, WorkerOptions } from "bullmq";
import type { QueueName, ReleaseEventJob } from "./jobs/queues.ts";
import type { Release } from "./releases/model.ts";
import type { Runtime } from "./runtime.ts";

/**
 * A queue's processor: a plain async function of the job and the runtime, with its worker tuning.
 * The workers hand over the whole runtime; a processor declares the part it uses (a Pick of
 * Runtime), which is what it may be given in a test.
 */
export interface ProcessorSpec {
  // biome-ignore lint/suspicious/noExplicitAny: each processor narrows its own payload type
  process: (job: Job<any>, rt: Runtime) => Promise<unknown>;
  options?: (rt: Runtime) => Partial<WorkerOptions>;
}

/** A stored release event with the revision it names and the one before it (null for revision 1). */
export interface ReleaseEventContext {
  event: ReleaseEventJob;
  release: Release;
  previous: Release | null;
}

/**
 * One channel. `onReleaseEvent` only queues the channel's own work, with deterministic job ids
 * (the release-events job may run twice: queueing twice must add nothing), and answers a
 * small summary of what it queued; `idle` is that summary when there was nothing to react to.
 * The summaries of all channels make the release-events job's return value.
 */
export interface Channel<S extends object = object> {
  name: string;
  onReleaseEvent(rt: Runtime, e: ReleaseEventContext): Promise<S>;
  idle: S;
  /** The processors of the queues this channel owns (the queues themselves are in jobs/queues.ts). */
  processors: Partial<Record<QueueName, ProcessorSpec>>;
}
