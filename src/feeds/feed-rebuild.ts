// feeds processor. "rebuild" builds one feed's three formats and, when they changed and a
// WebSub hub is configured, queues a ping. "rebuild-all" (ops, `herald feeds rebuild`) queues
// one "rebuild" per known feed through the same coalescing windows as release events.
// Safe to run twice: a build of unchanged data writes nothing and pings nobody.
import type { Job } from "bullmq";
import { type BuildResult, buildFeed, type FeedBuildDeps } from "./build.ts";
import { FORMATS, feedUrl, knownFeeds, parseFeedKey } from "./keys.ts";
import { countStat } from "../metrics.ts";
import type { Runtime } from "../runtime.ts";
import type { Release } from "../releases/model.ts";
import { type FeedKey, feedKeysOf } from "../vocabulary.ts";
import { FEED_REBUILD_WINDOW_MS, type FeedRebuildJob, jobId, QUEUE, type WebsubJob } from "../jobs/queues.ts";

export const REBUILD_ALL = "rebuild-all";

export async function processFeedRebuild(
  job: Job<FeedRebuildJob>,
  rt: FeedBuildDeps & Pick<Runtime, "queues" | "log">,
): Promise<BuildResult | { queued: FeedKey[] }> {
  if (job.name === REBUILD_ALL) {
    const feeds = await knownFeeds((kind) => rt.releases.facets(kind));
    await enqueueFeedRebuilds(rt, feeds, `${REBUILD_ALL}-${job.id}`);
    return { queued: feeds };
  }
  const { feed } = job.data;
  // A malformed key can only come from a hand-made job: nothing to build, nothing to retry.
  if (!parseFeedKey(feed)) return { feed, items: 0, changed: [], superseded: false };
  const started = performance.now(); // a duration for metrics, not a time the logic depends on
  const result = await buildFeed(rt, feed);
  const kind = feed === "all" ? "all" : feed.split("/")[0]!;
  await countStat(rt, "herald_feed_rebuilds_total", { kind });
  await countStat(rt, "herald_feed_rebuild_seconds_total", { kind }, (performance.now() - started) / 1000);
  if (result.changed.length && rt.config.websubHub)
    await enqueueWebsubPing(rt, feed, job.id ?? `${feed}-${rt.clock.now()}`);
  return result;
}

/** One ping per build that changed something; the job id ties it to the rebuild job. */
export async function enqueueWebsubPing(
  rt: Pick<Runtime, "config" | "queues">,
  feed: FeedKey,
  rebuildJobId: string,
): Promise<void> {
  const data: WebsubJob = { urls: FORMATS.map((f) => feedUrl(rt.config, feed, f)) };
  await rt.queues[QUEUE.websub].add("ping", data, { jobId: jobId.websubPing(rebuildJobId) });
}

/** What `herald feeds rebuild` queues: one job that fans out to every known feed. */
export async function enqueueRebuildAll(rt: Pick<Runtime, "clock" | "queues">): Promise<string> {
  const id = jobId.feedRebuildAll(rt.clock.now());
  await rt.queues[QUEUE.feeds].add(REBUILD_ALL, { feed: "*", cause: "herald feeds rebuild" }, { jobId: id });
  return id;
}

/** The feeds that list (or listed) this release: the old revision's and the new one's. */
export function feedsTouched(release: Release, previous: Release | null): FeedKey[] {
  const keys = new Set<FeedKey>(feedKeysOf(release));
  if (previous) for (const k of feedKeysOf(previous)) keys.add(k);
  return [...keys];
}

/** Queues one rebuild per feed for the current window; later events in the window join it. */
export async function enqueueFeedRebuilds(
  rt: Pick<Runtime, "clock" | "queues">,
  feeds: FeedKey[],
  cause?: string,
): Promise<void> {
  if (feeds.length === 0) return;
  const now = rt.clock.now();
  const windowEnd = Math.ceil((now + 1) / FEED_REBUILD_WINDOW_MS) * FEED_REBUILD_WINDOW_MS;
  await rt.queues[QUEUE.feeds].addBulk(
    feeds.map((feed) => ({
      name: "rebuild",
      data: { feed, cause },
      opts: { jobId: jobId.feedRebuild(feed, windowEnd), delay: windowEnd - now },
    })),
  );
}
