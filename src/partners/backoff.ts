// The webhook retry policy, in one place. When a failed delivery is tried again:
//   - attempts: one per entry of PARTNER_RETRY_SCHEDULE (config; default 10: 0 s, 5 s, 5 min,
//     30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h); entry n is the delay before attempt n+1, entry 0
//     the delay of the first attempt (deliveryJobOptions, set on every "deliver" job);
//   - BullMQ custom backoff "partner" (partnerBackoff, installed by processor.ts) turns a failed
//     attempt into the next delay: ±20 % jitter spreads a partner's backlog so it does not come
//     back as one burst; a 429 or 503 with Retry-After is honoured as a floor, never earlier
//     than the partner asked nor than the schedule says (a partner answering "Retry-After: 1"
//     to a backlog would otherwise burn every attempt in seconds);
//   - what is retried (deliver.ts): a network error or timeout and every answer but 2xx and
//     410 throw DeliveryError (retry); an address the SSRF guard refuses throws
//     UnrecoverableError (fail now); 410 Gone disables the partner. The last attempt
//     (job.opts.attempts, from here) writes the dead letter. A delivery held back by the
//     per-partner in-flight limit goes back to "delayed" (DelayedError) without using an attempt.
// The partners queue's default job options (jobs/queues.ts) govern only its "fanout" jobs.
import type { BackoffStrategy, JobsOptions } from "bullmq";

/** Options of every "deliver" job: its attempts, first delay and backoff come from the schedule. */
export function deliveryJobOptions(schedule: number[]): Pick<JobsOptions, "attempts" | "delay" | "backoff"> {
  return { attempts: schedule.length, delay: schedule[0] ?? 0, backoff: { type: "partner" } };
}

/** A failed attempt; what the queue should do about it is in the fields. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "DeliveryError";
  }
}

const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const trimmed = v.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

export function jitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.8 + 0.4 * random()));
}

/**
 * BullMQ custom backoff "partner". BullMQ calls it with the number of attempts made so far
 * (1 after the first failure), so the delay before attempt n+1 is schedule[n].
 */
export function partnerBackoff(schedule: number[], random: () => number = Math.random): BackoffStrategy {
  return (attemptsMade, _type, err) => {
    const base = schedule[Math.min(attemptsMade, schedule.length - 1)] ?? 0;
    const delay = jitter(base, random);
    const retryAfter = err instanceof DeliveryError ? err.retryAfterMs : undefined;
    // Retry-After is a floor: add a little jitter above it, never below.
    return retryAfter !== undefined ? Math.max(delay, Math.round(retryAfter * (1 + 0.1 * random()))) : delay;
  };
}
