// alerts processor: a release event for immediate readers.
//  - published: each confirmed immediate reader whose topics and regions match gets one alert,
//    in their language when a translation exists (else the original). A reader gets one version
//    of a story: publishing a translation later reaches only readers of that language who have
//    not had the story yet.
//    Translations wait (ALERT_TRANSLATION_WAIT): when an original is published, readers of its
//    language, and readers whose translation is already out, are sent to now; the others are left
//    to a second, delayed pass of the same job ("late"). A translation published within the wait
//    reaches its readers through its own alert; whoever is still without the story when the wait
//    ends gets the original. The second pass is its own edition, and the story claim in the send
//    job (ledger.claimStory) keeps it to one alert per reader whichever pass or version wins.
//  - updated: a short correction notice, only to readers who received this release before, once
//    per revision (the ledger is keyed by the revision's edition).
//  - withdrawn: nothing to send; queued batches see the withdrawal at send time and stop.
//  With REDIS_SHARDS > 1 the queued job splits: it queues one job per reader shard (same
//  edition), and each plans and fans out its shard's readers, so several workers plan one release
//  at once. A reader is in one shard, so in one job; the ledger and the story claim are per
//  reader, so a re-run or an overlap still sends each reader one alert.
//  Alerts and notices of a story are sent within its alert window (ledger.ts ALERT_WINDOW_S, 30
//  days from its first alert): the record of who had the story is kept that long, and no longer,
//  so past the window an event sends nothing rather than a second alert to someone.
import type { Job } from "bullmq";
import { ALERT_WINDOW_S, ledgerOf } from "./ledger.ts";
import { type FanoutDeps, type FanoutSummary, fanOutSegments, type SegmentPlan } from "./fanout.ts";
import { brandOf } from "./segments.ts";
import type { Release } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";
import type { Language } from "../i18n/languages.ts";
import { type Subscriber, wants } from "../subscribers/model.ts";
import { subscriberStore } from "../subscribers/service.ts";
import { renderAlert, renderCorrection } from "../templates/messages.ts";
import { type AlertJob, jobId, QUEUE } from "../jobs/queues.ts";

/** What planning an alert takes of the runtime: the release, the readers, the brand and the fan-out. */
type AlertDeps = FanoutDeps & Pick<Runtime, "releases" | "subscribers" | "taxonomy" | "clock">;

export async function processAlert(job: Job<AlertJob>, rt: AlertDeps): Promise<FanoutSummary | string> {
  return runAlert(rt, job.data, { split: true });
}

/**
 * Plans one alert job. `split` (the queued job): with several reader shards, a job for the whole
 * release queues one job per shard instead of planning (called directly, it plans every shard).
 */
export async function runAlert(
  rt: AlertDeps,
  a: AlertJob,
  opts: { split?: boolean } = {},
): Promise<FanoutSummary | string> {
  if (a.event === "withdrawn" || a.event === "embargoed") return `${a.event}: nothing to send`;
  const release = await rt.releases.getRevision(a.releaseId, a.revision);
  const current = await rt.releases.get(a.releaseId);
  if (!release || !current || current.status !== "published") return "release not public: nothing to send";
  const rootId = release.translationOf ?? release.id;
  const opened = await ledgerOf(rt).openAlertWindow(rootId, rt.clock.now());
  if (rt.clock.now() - opened > ALERT_WINDOW_S * 1000) {
    return `story ${rootId} past its alert window (${ALERT_WINDOW_S / 86_400} days since its first alert): nothing to send`;
  }
  if (opts.split && a.shard === undefined && rt.shards > 1) {
    const jobs = Array.from({ length: rt.shards }, (_, shard) => {
      const data: AlertJob = { ...a, shard };
      return { name: a.event, data, opts: { jobId: jobId.alert(data) } };
    });
    await rt.queues[QUEUE.alerts].addBulk(jobs);
    return `planned by ${jobs.length} jobs, one per reader shard`;
  }
  // The late pass sends what is current then: a correction made during the wait is included
  // (its notice went only to readers who had an earlier revision).
  if (a.late) return sendAlerts(rt, current, true, a.shard);
  return a.event === "published" ? sendAlerts(rt, release, false, a.shard) : sendCorrections(rt, release, a.shard);
}

/** Confirmed readers of this frequency, of one shard or all. */
async function* confirmedReaders(
  rt: Pick<Runtime, "subscribers">,
  frequency: "immediate",
  shard?: number,
): AsyncGenerator<Subscriber[]> {
  const store = subscriberStore(rt);
  for await (const ids of store.confirmedIds(frequency, 1000, shard)) {
    yield (await store.getMany(ids)).filter((s): s is Subscriber => s?.status === "confirmed");
  }
}

async function sendAlerts(rt: AlertDeps, release: Release, late: boolean, shard?: number): Promise<FanoutSummary> {
  const ledger = ledgerOf(rt);
  const rootId = release.translationOf ?? release.id;
  const root = release.translationOf ? await rt.releases.get(rootId) : release;
  const versions = new Map<string, Release>();
  for (const t of await rt.releases.translations(rootId)) if (t.status === "published") versions.set(t.language, t);
  if (root?.status === "published") versions.set(root.language, root);
  versions.set(release.language, release);
  const story = root?.status === "published" ? root : release;
  const wait = rt.config.alertTranslationWaitMs;
  // Only the first publication of an original waits; a translation's own alert, and the late pass, send now.
  const canWait = wait > 0 && !late && !release.translationOf;
  let waiting = 0;

  const segments = new Map<string, { content: Release; language: Language; readers: string[] }>();
  for await (const readers of confirmedReaders(rt, "immediate", shard)) {
    const matching = readers.filter(
      (s) =>
        wants(s, story) &&
        (!release.translationOf || s.language === release.language) &&
        (!late || s.language !== story.language),
    );
    const had = await ledger.alerted(
      rootId,
      matching.map((s) => s.id),
    );
    matching.forEach((s, i) => {
      if (had[i]) return;
      if (canWait && !versions.has(s.language)) {
        waiting += 1; // no version in their language yet: the late pass decides
        return;
      }
      const content = versions.get(s.language) ?? story;
      const id = `${s.language}-${content.id}`;
      const seg = segments.get(id) ?? { content, language: s.language, readers: [] };
      seg.readers.push(s.id);
      segments.set(id, seg);
    });
  }
  const brand = brandOf(rt.config, await rt.taxonomy.current());
  const plans: SegmentPlan[] = [...segments.entries()].map(([id, seg]) => ({
    id,
    readers: seg.readers,
    render: async () => ({
      kind: "alert",
      language: seg.language,
      releaseId: release.id,
      contentIds: [...new Set([rootId, seg.content.id])],
      storyId: rootId,
      message: await renderAlert(brand, seg.language, seg.content),
    }),
  }));
  if (waiting > 0) {
    // One late pass for the release (no shard): the jobs of every shard add the same job id.
    const lateJob: AlertJob = { releaseId: release.id, revision: release.revision, event: "published", late: true };
    await rt.queues[QUEUE.alerts].add("published", lateJob, { jobId: jobId.alert(lateJob), delay: wait });
  }
  const summary = await fanOutSegments(
    rt,
    `alert-${release.id}-r${release.revision}${late ? "-late" : ""}`,
    "alert",
    plans,
    partOfShard(shard),
  );
  return waiting > 0 ? { ...summary, waiting } : summary;
}

/** A shard's job is one part of the edition: counted apart, and a segment another part stored is not rendered again. */
function partOfShard(shard?: number): { part?: string } {
  return shard === undefined ? {} : { part: `s${shard}` };
}

async function sendCorrections(rt: AlertDeps, release: Release, shard?: number): Promise<FanoutSummary> {
  const ledger = ledgerOf(rt);
  const store = subscriberStore(rt);
  const byLanguage = new Map<Language, string[]>();
  const seen = new Set<string>();
  for await (const batch of ledger.alertedIds(release.id, shard)) {
    const ids = batch.filter((id) => !seen.has(id));
    for (const id of ids) seen.add(id);
    for (let i = 0; i < ids.length; i += 1000) {
      for (const s of await store.getMany(ids.slice(i, i + 1000))) {
        if (s?.status !== "confirmed") continue;
        const list = byLanguage.get(s.language) ?? [];
        list.push(s.id);
        byLanguage.set(s.language, list);
      }
    }
  }
  const brand = brandOf(rt.config, await rt.taxonomy.current());
  const plans: SegmentPlan[] = [...byLanguage.entries()].map(([language, readers]) => ({
    id: `${language}-${release.id}`,
    readers,
    render: async () => ({
      kind: "correction",
      language,
      releaseId: release.id,
      message: await renderCorrection(brand, language, release),
    }),
  }));
  return fanOutSegments(rt, `correction-${release.id}-r${release.revision}`, "correction", plans, partOfShard(shard));
}
