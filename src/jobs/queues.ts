// The whole queue topology in one place: queue names, payload types, default job options and
// job-id builders. Job data holds ids, never secrets or whole bodies. Job ids are deterministic,
// so adding the same work twice is a no-op (BullMQ keeps one job per id), and never contain ':'.
import { createHash } from "node:crypto";
import type { DefaultJobOptions } from "bullmq";
import type { FeedKey, ReleaseEvent } from "../vocabulary.ts";

export const QUEUE = {
  releaseEvents: "release-events",
  feeds: "feeds",
  partners: "partners",
  alerts: "alerts",
  emails: "emails",
  digests: "digests",
  websub: "websub",
} as const;

export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];
export const QUEUE_NAMES = Object.values(QUEUE) as QueueName[];

/** release-events: job name = the event, or "lift-embargo" (delayed until embargoUntil). */
export interface ReleaseEventJob {
  releaseId: string;
  revision: number;
  event: ReleaseEvent;
}
export interface LiftEmbargoJob {
  releaseId: string;
  revision: number;
}

/**
 * feeds: job name "rebuild" (one feed; the rebuilds asked within one FEED_REBUILD_WINDOW_MS are one
 * job: jobId.feedRebuild) or "rebuild-all" (ops; feed "*": queues a "rebuild" per known feed).
 */
export interface FeedRebuildJob {
  feed: FeedKey;
  /** The release event that asked for it, for tracing only. */
  cause?: string;
}

/** partners: job name "fanout" (one per release event: finds the matching partners). */
export interface PartnerFanoutJob {
  releaseId: string;
  revision: number;
  event: ReleaseEvent;
}

/** partners: job name "deliver", one job per (partner, release, revision, event). */
export interface PartnerDeliveryJob {
  partnerId: string;
  releaseId: string;
  revision: number;
  event: ReleaseEvent;
}

/** alerts: job name = the event; finds immediate readers and enqueues email batches. */
export interface AlertJob {
  releaseId: string;
  revision: number;
  event: ReleaseEvent;
  /**
   * The delayed second pass of a "published" alert (ALERT_TRANSLATION_WAIT after the first):
   * readers who were waiting for a translation in their language get what exists by then.
   */
  late?: boolean;
  /**
   * With REDIS_SHARDS > 1, the queued job plans nothing itself: it queues one job per reader
   * shard, each planning that shard's readers (mail/alerts.ts), so several workers fan out one
   * release at once.
   */
  shard?: number;
}

/** emails: job name "send", one batch of readers of one edition (alert, correction notice, digest, confirmation). */
export interface EmailBatchJob {
  /**
   * Edition id: what is being sent, the same for every reader of it (the ledger and the Message-ID
   * are keyed by it): "alert-{release}-r{n}" (plus "-late" for the translation pass),
   * "correction-{release}-r{n}", "{daily|weekly}-{YYYYMMDDTHH}" for a scheduled digest (the UTC
   * hour served, e.g. "daily-20261128T08"), "{daily|weekly}-run-{ms}" for one run by ops, and
   * "confirm-{subscriber}-{hours since epoch}". The prefixes are read back: ledger.ts keeps
   * "alert-" and "correction-" editions as bitmaps, a correction's for the whole alert window.
   */
  edition: string;
  kind: "alert" | "correction" | "digest" | "confirm";
  /** Segment id: readers with the same language and content share one rendered message. */
  segment: string;
  subscriberIds: string[];
  /**
   * Digests: the readers of many small segments of the edition in one job, as runs of
   * [segment, how many of subscriberIds, in order]; `segment` is then the first run's. Readers
   * choosing among many topics and regions form segments of one or two readers, and a job per
   * segment paid its fixed costs (the queue, the Redis round trips) for each of them.
   */
  segments?: [string, number][];
  /** Digests: the planning part that queued this batch (segments.ts deletes the edition's segments once every part's batches are done). */
  part?: string;
}

/**
 * digests: job name "tick" (hourly scheduler), "run" (ops: now, for every such reader),
 * "part" (one slice of a tick's or run's readers, planned and fanned out by any worker: see
 * digests.ts) or "expire-pending" (hourly scheduler: erase readers who never confirmed; no data).
 */
export interface DigestJob {
  frequency?: "daily" | "weekly";
  /**
   * ISO. run: when ops asked; part: its edition's. None on a tick (the scheduler adds no data):
   * the hour nearest the clock, the one the tick fired for.
   */
  at?: string;
  dryRun?: boolean;
  /** part: the edition it belongs to. */
  edition?: string;
  /** part: its readers (at most DIGEST_PART_SIZE). */
  subscriberIds?: string[];
}

/** websub: job name "ping", tells the hub that these feed URLs changed. */
export interface WebsubJob {
  urls: string[];
}

/** Width of a feed-rebuild window: 100 publishes in a second make about 4 rebuilds per feed. */
export const FEED_REBUILD_WINDOW_MS = 250;

const DAY = 24 * 3600;

/** Retention: enough history for ops to look at, bounded so Redis memory stays flat. */
const retention = {
  removeOnComplete: { age: 2 * DAY, count: 5_000 },
  removeOnFail: { age: 14 * DAY, count: 20_000 },
} satisfies DefaultJobOptions;

export const DEFAULT_JOB_OPTIONS: Record<QueueName, DefaultJobOptions> = {
  [QUEUE.releaseEvents]: { ...retention, attempts: 10, backoff: { type: "exponential", delay: 1_000 } },
  [QUEUE.feeds]: { ...retention, attempts: 5, backoff: { type: "exponential", delay: 500 } },
  // These govern the partners queue's "fanout" jobs only (finding the matching partners). Each
  // "deliver" job carries its own attempts, delay and backoff from PARTNER_RETRY_SCHEDULE: the
  // webhook retry policy is in partners/backoff.ts (deliveryJobOptions).
  [QUEUE.partners]: { ...retention, attempts: 10, backoff: { type: "partner" } },
  [QUEUE.alerts]: { ...retention, attempts: 10, backoff: { type: "exponential", delay: 1_000 } },
  // Send batches are many (1,000 for 100,000 readers) and the ledger already remembers every
  // send: keep only the last 20 completed (what `herald jobs list` shows), enough to look at, not a
  // copy of every reader list (up to 100 ids and their segments' runs, ~6 KB each).
  [QUEUE.emails]: {
    ...retention,
    removeOnComplete: { age: 3600, count: 20 },
    attempts: 8,
    backoff: { type: "exponential", delay: 2_000 },
  },
  [QUEUE.digests]: { ...retention, attempts: 5, backoff: { type: "exponential", delay: 5_000 } },
  [QUEUE.websub]: { ...retention, attempts: 6, backoff: { type: "exponential", delay: 5_000 } },
};

/**
 * Entries kept in each queue's BullMQ event stream (`…:events`; BullMQ's default is 10,000).
 * Nothing in Herald reads them (no QueueEvents): enough for a tool tailing a queue, not several
 * per send batch of a whole digest run (~5 entries a job).
 */
export const EVENTS_KEPT = 1000;

/** Job ids: plain, deterministic, colon-free. */
export const jobId = {
  releaseEvent: (j: ReleaseEventJob) => `${j.releaseId}-r${j.revision}-${j.event}`,
  liftEmbargo: (j: LiftEmbargoJob) => `lift-${j.releaseId}-r${j.revision}`,
  partnerFanout: (j: PartnerFanoutJob) => `fanout-${j.releaseId}-r${j.revision}-${j.event}`,
  /** `herald feeds rebuild`: one per request. */
  feedRebuildAll: (atMs: number) => `rebuild-all-${atMs}`,
  /**
   * Feed rebuilds coalesce by time window: every event in the same window joins one job that
   * runs when the window closes, so it reads the state after all of them.
   */
  feedRebuild: (feed: FeedKey, windowEndMs: number) => `feed-${feed.replace("/", ".")}-${windowEndMs}`,
  /** One ping per rebuild job that changed its feed (a job id from elsewhere may hold ':'). */
  websubPing: (rebuildJobId: string) => `ping-${rebuildJobId.replace(/:/g, ".")}`,
  partnerDelivery: (j: PartnerDeliveryJob) => `${j.partnerId}-${j.releaseId}-r${j.revision}-${j.event}`,
  /** A replay is a new job (the original may still be kept as completed or failed); same webhook-id. */
  partnerReplay: (j: PartnerDeliveryJob, atMs: number) =>
    `${j.partnerId}-${j.releaseId}-r${j.revision}-${j.event}-replay-${atMs}`,
  alert: (j: AlertJob) =>
    `${j.releaseId}-r${j.revision}-${j.event}${j.late ? "-late" : ""}${j.shard === undefined ? "" : `-s${j.shard}`}`,
  /** Named by its readers (and segments) too: a re-run that batches readers differently adds new jobs (the ledger dedupes). */
  emailBatch: (j: EmailBatchJob) =>
    `${j.edition}-${j.segment}-${createHash("sha1")
      .update(j.subscriberIds.join(","))
      .update(j.segments ? `|${j.segments.map(([s, n]) => `${s}*${n}`).join(",")}` : "")
      .digest("hex")
      .slice(0, 12)}`,
  digestRun: (frequency: string, atMs: number) => `digest-run-${frequency}-${atMs}`,
  /** Named by its readers: a re-run that slices them the same way adds nothing; otherwise the ledger and cursors dedupe. */
  digestPart: (edition: string, subscriberIds: string[]) => `digest-part-${edition}-${partOf(subscriberIds)}`,
};

/** A short, colon-free name for a set of readers (the same ids in the same order: the same name). */
export function partOf(subscriberIds: string[]): string {
  return createHash("sha1").update(subscriberIds.join(",")).digest("hex").slice(0, 12);
}
