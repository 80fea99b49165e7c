// The feeds channel: a release event queues a rebuild of every feed that lists (or listed) the
// release, coalesced per time window; feed-rebuild.ts builds them and queues WebSub pings.
import type { Channel } from "../channel.ts";
import { QUEUE } from "../jobs/queues.ts";
import { type FeedKey, feedKeysOf } from "../vocabulary.ts";
import { enqueueFeedRebuilds, feedsTouched, processFeedRebuild } from "./feed-rebuild.ts";
import { processWebsubPing } from "./websub-ping.ts";

export const feedsChannel: Channel<{ feeds: FeedKey[] }> = {
  name: "feeds",
  idle: { feeds: [] },
  async onReleaseEvent(rt, { event: e, release, previous }) {
    // Feeds show public releases only: an embargoed revision changes no feed.
    const feeds = e.event === "embargoed" ? [] : feedsTouched(release, previous);
    // An original going public: its translations' feeds may now name it (releases/translations.ts).
    if (e.event === "published") {
      for (const t of await rt.releases.translations(release.id))
        if (t.status === "published") for (const k of feedKeysOf(t)) if (!feeds.includes(k)) feeds.push(k);
    }
    await enqueueFeedRebuilds(rt, feeds, `${e.releaseId}-r${e.revision}-${e.event}`);
    return { feeds };
  },
  processors: {
    [QUEUE.feeds]: { process: processFeedRebuild, options: () => ({ concurrency: 4 }) },
    [QUEUE.websub]: { process: processWebsubPing, options: () => ({ concurrency: 2 }) },
  },
};
