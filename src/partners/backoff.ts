// When a failed delivery is tried again. The schedule (PARTNER_RETRY_SCHEDULE, default 0 s, 5 s,
// 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h) gives the delay before each attempt; ±20 %
// jitter spreads a partner's backlog so it does not come back as one burst. A 429 or 503 with
// Retry-After is honoured: the next attempt is never earlier than the partner asked, and never
// earlier than the schedule says (a partner answering "Retry-After: 1" to a backlog would
// otherwise burn every attempt in seconds).
import type { BackoffStrategy } from "bullmq";

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
