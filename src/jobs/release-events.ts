// release-events processor: one stored event fans out to the channels. It only queues work
// (deterministic job ids: running it twice queues nothing twice); the channels do the work.
import type { Job } from "bullmq";
import type { Release } from "../releases/model.ts";
import { ReleaseService } from "../releases/service.ts";
import type { Runtime } from "../runtime.ts";
import {
  type AlertJob,
  FEED_REBUILD_WINDOW_MS,
  type FeedKey,
  feedKeysOf,
  jobId,
  type LiftEmbargoJob,
  type PartnerFanoutJob,
  QUEUE,
  type ReleaseEventJob,
} from "./queues.ts";

export interface DispatchResult {
  feeds: FeedKey[];
  alerts: boolean;
  partners: boolean;
}

export async function processReleaseEvent(job: Job<ReleaseEventJob | LiftEmbargoJob>, rt: Runtime): Promise<DispatchResult | string> {
  if (job.name === "lift-embargo") {
    const { releaseId, revision } = job.data as LiftEmbargoJob;
    const done = await new ReleaseService(rt).liftEmbargo(releaseId, revision);
    return done ? `published ${releaseId} r${revision}` : "nothing to lift";
  }
  return dispatchReleaseEvent(rt, job.data as ReleaseEventJob);
}

export async function dispatchReleaseEvent(rt: Runtime, e: ReleaseEventJob): Promise<DispatchResult> {
  const release = await rt.releases.getRevision(e.releaseId, e.revision);
  if (!release) return { feeds: [], alerts: false, partners: false }; // unknown: nothing to fan out
  const previous = e.revision > 1 ? await rt.releases.getRevision(e.releaseId, e.revision - 1) : null;

  // Feeds show public releases only: an embargoed revision changes no feed.
  const feeds = e.event === "embargoed" ? [] : feedsTouched(release, previous);
  // An original going public: its translations' feeds may now name it (releases/translations.ts).
  if (e.event === "published") {
    for (const t of await rt.releases.translations(release.id)) if (t.status === "published") for (const k of feedKeysOf(t)) if (!feeds.includes(k)) feeds.push(k);
  }
  await enqueueFeedRebuilds(rt, feeds, `${e.releaseId}-r${e.revision}-${e.event}`);

  // Readers hear of public events only; partners with embargo access also of embargoed ones.
  const alerts = e.event !== "embargoed";
  if (alerts) {
    const a: AlertJob = { releaseId: e.releaseId, revision: e.revision, event: e.event };
    await rt.queues[QUEUE.alerts].add(e.event, a, { jobId: jobId.alert(a) });
  }
  const p: PartnerFanoutJob = { releaseId: e.releaseId, revision: e.revision, event: e.event };
  await rt.queues[QUEUE.partners].add("fanout", p, { jobId: jobId.partnerFanout(p) });
  return { feeds, alerts, partners: true };
}

/** The feeds that list (or listed) this release: the old revision's and the new one's. */
export function feedsTouched(release: Release, previous: Release | null): FeedKey[] {
  const keys = new Set<FeedKey>(feedKeysOf(release));
  if (previous) for (const k of feedKeysOf(previous)) keys.add(k);
  return [...keys];
}

/** Queues one rebuild per feed for the current window; later events in the window join it. */
export async function enqueueFeedRebuilds(rt: Runtime, feeds: FeedKey[], cause?: string): Promise<void> {
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
