// Which function processes which queue: release-events here, and each channel's own queues
// from the channel list. One processor per file, a plain async function of the job and the
// runtime; worker tuning (concurrency, rate limits, backoff) sits beside it.
import type { Channel, ProcessorSpec } from "../channel.ts";
import { CHANNELS } from "./channels.ts";
import { QUEUE, type QueueName } from "./queues.ts";
import { releaseEventsProcessor } from "./release-events.ts";

export type { ProcessorSpec } from "../channel.ts";

/** The processors of a channel list, release-events included; a queue owned twice is a mistake. */
export function processorsOf(channels: readonly Channel[]): Partial<Record<QueueName, ProcessorSpec>> {
  const all: Partial<Record<QueueName, ProcessorSpec>> = {
    [QUEUE.releaseEvents]: { process: releaseEventsProcessor(channels), options: () => ({ concurrency: 4 }) },
  };
  for (const c of channels) {
    for (const [queue, spec] of Object.entries(c.processors) as [QueueName, ProcessorSpec][]) {
      if (all[queue]) throw new Error(`queue ${queue} has two processors (channel ${c.name})`);
      all[queue] = spec;
    }
  }
  return all;
}

export const PROCESSORS = processorsOf(CHANNELS);
