// Job "fanout" on the partners queue (queuePartnerDeliveries; the job name stays, jobs already
// queued carry it): one release event becomes one "deliver" job per matching
// active partner. Idempotent: job ids are deterministic and the bookkeeping only ever raises
// the order key, so running it twice queues nothing twice.
import type { ReleaseEvent } from "../vocabulary.ts";
import type { PartnerDeliveryJob, PartnerFanoutJob } from "../jobs/queues.ts";
import { jobId, QUEUE } from "../jobs/queues.ts";
import { filterMatches, type Release } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";
import { deliveryJobOptions } from "./backoff.ts";
import type { Partner } from "./model.ts";
import { type PartnerStoreDeps, partnerStore } from "./store.ts";

function matchesFilters(p: Partner, r: Release): boolean {
  return (
    filterMatches(p.topics, r.topics) && filterMatches(p.regions, r.regions) && filterMatches(p.languages, [r.language])
  );
}

/** Whether the event concerns something that was public (partners without embargo access hear only of those). */
function isPublicEvent(event: ReleaseEvent, r: Release, previous: Release | null): boolean {
  switch (event) {
    case "embargoed":
      return false;
    case "published":
      return true;
    case "updated":
      return r.status !== "embargoed";
    case "withdrawn":
      return previous ? previous.status !== "embargoed" : true;
  }
}

/**
 * Does this partner get this event? Filters match the revision, or for a correction or a
 * withdrawal the revision before it: a partner that got a release hears that it changed,
 * even when the change moves it out of the partner's topics.
 */
export function partnerWants(p: Partner, event: ReleaseEvent, r: Release, previous: Release | null): boolean {
  if (p.status !== "active") return false;
  if (!p.embargoAccess && !isPublicEvent(event, r, previous)) return false;
  if (matchesFilters(p, r)) return true;
  return (event === "updated" || event === "withdrawn") && previous !== null && matchesFilters(p, previous);
}

export async function queuePartnerDeliveries(
  rt: PartnerStoreDeps & Pick<Runtime, "releases" | "queues" | "clock">,
  e: PartnerFanoutJob,
): Promise<{ partners: string[] }> {
  const release = await rt.releases.getRevision(e.releaseId, e.revision);
  if (!release) return { partners: [] };
  const previous = e.revision > 1 ? await rt.releases.getRevision(e.releaseId, e.revision - 1) : null;
  const store = partnerStore(rt);
  const targets = (await store.list()).filter((p) => partnerWants(p, e.event, release, previous));
  const ids = targets.map((p) => p.id);
  // Order keys first, jobs second: a delivery of an older revision that starts after this line
  // sees that a newer one exists and steps aside (see deliver.ts).
  await store.noteQueued(ids, e, rt.clock.now(), rt.config.partnerRetrySchedule);
  await enqueueDeliveries(
    rt,
    ids.map((partnerId) => ({ partnerId, releaseId: e.releaseId, revision: e.revision, event: e.event })),
  );
  return { partners: ids };
}

/** Queues deliveries under the given job ids (jobId.partnerDelivery, or partnerReplay for ops). */
export async function enqueueDeliveries(
  rt: Pick<Runtime, "config" | "queues">,
  jobs: PartnerDeliveryJob[],
  idOf: (j: PartnerDeliveryJob) => string = jobId.partnerDelivery,
): Promise<string[]> {
  if (jobs.length === 0) return [];
  const retries = deliveryJobOptions(rt.config.partnerRetrySchedule);
  const added = await rt.queues[QUEUE.partners].addBulk(
    jobs.map((data) => ({
      name: "deliver",
      data,
      opts: { jobId: idOf(data), ...retries },
    })),
  );
  return added.map((j) => j.id!);
}
