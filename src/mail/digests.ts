// digests processor. "tick" fires every hour (one job scheduler, see schedules.ts) and serves
// the readers whose local time is DIGEST_HOUR (daily) or that hour on WEEKLY_DIGEST_DAY
// (weekly): only the time zones in that state are read, never every subscriber. "run" (ops)
// serves every confirmed reader of a frequency now. Each reader's digest holds the releases
// published since their cursor, which moves only when their send is accepted (send-emails.ts);
// a reader with nothing new gets nothing. Readers with the same language and the same releases
// form a segment, rendered once.
import { createHash } from "node:crypto";
import type { Job } from "bullmq";
import type { Weekday } from "../config/index.ts";
import { type FanoutDeps, type FanoutSummary, fanOutDigestPart, type SegmentPlan } from "./fanout.ts";
import { brandOf, fanoutStep } from "./segments.ts";
import type { Release } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";
import { readerLinks } from "../subscribers/links.ts";
import type { Language } from "../i18n/languages.ts";
import { type DigestFrequency, type Subscriber, wants } from "../subscribers/model.ts";
import { type SubscriberDeps, SubscriberService, subscriberStore } from "../subscribers/service.ts";
import { requireSecret } from "../subscribers/tokens.ts";
import { renderDigest } from "../templates/messages.ts";
import { personalise } from "../templates/personalise.ts";
import { type DigestJob, jobId, partOf, QUEUE } from "../jobs/queues.ts";
import { execOrThrow } from "../redis/pipeline.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const PERIOD: Record<DigestFrequency, number> = { daily: DAY, weekly: 7 * DAY };
/** However old a reader's cursor, a digest reaches back at most this far. */
const MAX_REACH: Record<DigestFrequency, number> = { daily: 7 * DAY, weekly: 35 * DAY };
const MAX_ITEMS = 50;

export interface SegmentCount {
  segment: string;
  language: Language;
  releases: number;
  readers: number;
}

export interface DigestSummary {
  frequency: DigestFrequency;
  at: string;
  edition: string;
  dryRun: boolean;
  segments: SegmentCount[];
  readers: number;
  batches: number;
  /**
   * Set when the edition was split over this many "part" jobs: `readers` is then the number of
   * candidates handed to them (those with nothing new get nothing), and `segments` is empty (each
   * part plans its own; the ledger's progress adds them up).
   */
  parts?: number;
}

/** What planning a digest edition takes of the runtime: the readers, the candidate releases, the brand and the fan-out. */
export type DigestDeps = FanoutDeps & Pick<Runtime, "subscribers" | "releases" | "taxonomy">;

export async function processDigest(
  job: Job<DigestJob>,
  rt: DigestDeps & SubscriberDeps,
): Promise<DigestSummary[] | { expired: number }> {
  // Subscriber upkeep shares this queue's scheduler (schedules.ts) rather than a queue of its own.
  if (job.name === "expire-pending") {
    const expired = await new SubscriberService(rt).expirePending();
    if (expired)
      rt.log.info(`erased ${expired} subscriber(s) still pending after ${rt.config.pendingExpiryDays} day(s)`);
    return { expired };
  }
  const at = job.data.at ? Date.parse(job.data.at) : nearestHour(rt.clock.now());
  const frequency = job.data.frequency ?? "daily";
  if (job.name === "part") {
    const edition = job.data.edition!;
    const ids = job.data.subscriberIds ?? [];
    const done = await runPart(rt, frequency, at, edition, ids, await candidatesFor(rt, frequency, at, edition));
    // Kept with the completed job: its segment list (hundreds with realistic readers) would cost
    // Redis more than the emails; the ledger's progress and the edition's run record count them.
    return [{ ...done, segments: [] }];
  }
  // Through the queue, an edition larger than one part is split over part jobs (any worker).
  if (job.name === "tick") return digestTick(rt, at, { split: true });
  return [await runDigest(rt, frequency, at, { dryRun: job.data.dryRun ?? false, split: true })];
}

export function nearestHour(ms: number): number {
  return Math.round(ms / HOUR) * HOUR;
}

/** The local hour and weekday at `ms` in `timeZone`. */
export function localTime(ms: number, timeZone: string): { hour: number; weekday: Weekday } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hour: "numeric",
    hourCycle: "h23",
    weekday: "long",
  }).formatToParts(ms);
  const hour = Number(parts.find((p) => p.type === "hour")?.value ?? 0);
  const weekday = (parts.find((p) => p.type === "weekday")?.value ?? "").toLowerCase() as Weekday;
  return { hour, weekday };
}

function compact(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace(/[-:]/g, "");
}

/** The scheduled hour: for each frequency, the zones where it is now the send hour. */
export async function digestTick(rt: DigestDeps, at: number, opts: { split?: boolean } = {}): Promise<DigestSummary[]> {
  const store = subscriberStore(rt);
  const out: DigestSummary[] = [];
  for (const frequency of ["daily", "weekly"] as const) {
    const zones = (await store.timezones(frequency)).filter((tz) => {
      const local = localTime(at, tz);
      return (
        local.hour === rt.config.digestHour && (frequency === "daily" || local.weekday === rt.config.weeklyDigestDay)
      );
    });
    if (zones.length === 0) continue;
    async function* ids() {
      for (const z of zones) yield* store.confirmedIdsInZone(frequency, z);
    }
    out.push(
      await digestEdition(rt, frequency, at, `${frequency}-${compact(at)}`, ids(), {
        dryRun: false,
        split: opts.split ?? false,
      }),
    );
  }
  return out;
}

/** Ops: every confirmed reader of the frequency, now. */
export async function runDigest(
  rt: DigestDeps,
  frequency: DigestFrequency,
  at: number,
  opts: { dryRun: boolean; split?: boolean },
): Promise<DigestSummary> {
  const store = subscriberStore(rt);
  return digestEdition(rt, frequency, at, `${frequency}-run-${at}`, store.confirmedIds(frequency), {
    dryRun: opts.dryRun,
    split: opts.split ?? false,
  });
}

interface PlannedSegment {
  language: Language;
  items: Release[];
  readers: string[];
}

/**
 * Plans an edition without holding its readers: ids come in SSCAN pages and are cut into parts
 * of DIGEST_PART_SIZE readers. A part is planned on its own (its readers' segments, rendered
 * unless another part stored them already, and their send batches), so only one part's readers
 * are in memory at a time. With `split` (the queued tick and run), an edition of more than one
 * part hands every part to a "part" job instead, and the workers plan them at once; the parts
 * are independent, so the emails are the same whichever way (and whoever) plans them. A dry
 * run only counts.
 */
async function digestEdition(
  rt: DigestDeps,
  frequency: DigestFrequency,
  at: number,
  edition: string,
  idBatches: AsyncIterable<string[]>,
  opts: { dryRun: boolean; split: boolean },
): Promise<DigestSummary> {
  const size = rt.config.digestPartSize;
  // Planned here (inline or counting): one read for every part, as before the split.
  const candidates = await readCandidates(rt, frequency, at);
  const total = new Summing(frequency, at, edition, opts.dryRun);
  const queued: string[][] = [];
  /** Every part's name (partOf its readers): the edition's segments go once all their batches are done. */
  const names: string[] = [];
  let parts = 0;
  let buf: string[] = [];
  const part = async (ids: string[]) => {
    parts += 1;
    if (opts.dryRun) return total.add(await countPart(rt, frequency, at, ids, candidates));
    names.push(partOf(ids));
    if (!opts.split) return total.add(await runPart(rt, frequency, at, edition, ids, candidates));
    // The first part waits for a second: an edition of one part is planned right here.
    queued.push(ids);
    if (parts < 2) return;
    const jobs = queued.splice(0).map((subscriberIds) => {
      const data: DigestJob = { frequency, at: new Date(at).toISOString(), edition, subscriberIds };
      // A part holds its reader list (DIGEST_PART_SIZE ids, ~26 KB), and a run of 100,000 readers
      // has 100: done, it goes (its sends are in the ledger, its counts in the edition's progress);
      // one that failed for good is kept to look at. Not a count to keep: BullMQ trims the queue's
      // whole completed set to it, and the run and tick jobs (ops wait for the run's) went with it.
      return {
        name: "part",
        data,
        opts: { jobId: jobId.digestPart(edition, subscriberIds), removeOnComplete: true },
      };
    });
    await rt.queues[QUEUE.digests].addBulk(jobs);
    total.queued += jobs.reduce((n, j) => n + (j.data.subscriberIds?.length ?? 0), 0);
  };
  // SSCAN may return an id twice (the set was resized during the scan): never twice in a part.
  // Twice in two parts is caught at send time (the ledger and the reader's cursor).
  let inBuf = new Set<string>();
  for await (const ids of idBatches) {
    for (const id of ids) {
      if (inBuf.has(id)) continue;
      inBuf.add(id);
      buf.push(id);
      if (buf.length === size) {
        await part(buf);
        buf = [];
        inBuf = new Set();
      }
    }
  }
  if (buf.length > 0) await part(buf);
  if (queued.length === 1) total.add(await runPart(rt, frequency, at, edition, queued[0]!, candidates));
  const done = total.summary(parts > 1 && opts.split && !opts.dryRun ? parts : undefined);
  if (!opts.dryRun) {
    await fanoutStep(rt, edition, "parts", names);
    await recordDigestRun(rt, done);
  }
  return done;
}

/** Adds part summaries up (segment counts by segment, not reader lists). */
class Summing {
  private readonly segments = new Map<string, SegmentCount>();
  private readers = 0;
  private batches = 0;
  /** Readers handed to part jobs (planned there: not counted in segments here). */
  queued = 0;
  constructor(
    private readonly frequency: DigestFrequency,
    private readonly at: number,
    private readonly edition: string,
    private readonly dryRun: boolean,
  ) {}

  add(s: DigestSummary): void {
    for (const c of s.segments) {
      const have = this.segments.get(c.segment);
      if (have) have.readers += c.readers;
      else this.segments.set(c.segment, { ...c });
    }
    this.readers += s.readers;
    this.batches += s.batches;
  }

  summary(parts?: number): DigestSummary {
    const base = {
      frequency: this.frequency,
      at: new Date(this.at).toISOString(),
      edition: this.edition,
      dryRun: this.dryRun,
    };
    if (parts) return { ...base, segments: [], readers: this.queued, batches: 0, parts };
    return { ...base, segments: [...this.segments.values()], readers: this.readers, batches: this.batches };
  }
}

/** Candidate releases of an edition, read once per process for all its part jobs (a worker plans many). */
const candidateCache = new Map<string, { at: number; releases: Promise<Release[]> }>();
const CANDIDATES_FRESH_MS = 10 * 60_000;

function readCandidates(rt: Pick<Runtime, "releases">, frequency: DigestFrequency, at: number): Promise<Release[]> {
  return rt.releases.publishedBetween("all", at - MAX_REACH[frequency], at, 1000);
}

function candidatesFor(
  rt: Pick<Runtime, "releases" | "config">,
  frequency: DigestFrequency,
  at: number,
  edition: string,
): Promise<Release[]> {
  const key = `${rt.config.prefix}|${edition}`;
  const now = Date.now();
  for (const [k, v] of candidateCache) if (now - v.at > CANDIDATES_FRESH_MS) candidateCache.delete(k);
  const hit = candidateCache.get(key);
  if (hit) return hit.releases;
  const releases = readCandidates(rt, frequency, at);
  releases.catch(() => candidateCache.delete(key));
  candidateCache.set(key, { at: now, releases });
  return releases;
}

/** Story picks by (cursor, language), per candidates array: they go with it (candidateCache keeps it 10 minutes). */
const picksCache = new WeakMap<Release[], Map<string, StoryPick[]>>();

/** Groups one part's readers into segments (language + the releases they get). */
async function segmentsOf(
  rt: Pick<Runtime, "subscribers">,
  frequency: DigestFrequency,
  at: number,
  ids: string[],
  candidates: Release[],
): Promise<Map<string, PlannedSegment>> {
  const store = subscriberStore(rt);
  // Readers with the same cursor and language choose from the same stories: worked out once per
  // edition in this process (its parts share the candidates' array: candidatesFor), not per part.
  let picks = picksCache.get(candidates);
  if (!picks) {
    picks = new Map();
    picksCache.set(candidates, picks);
  }
  const picksFor = (from: number, language: Language) => {
    const key = `${from}|${language}`;
    const p = picks.get(key) ?? storyPicks(candidates, from, language);
    picks.set(key, p);
    return p;
  };
  const segments = new Map<string, PlannedSegment>();
  for (let i = 0; i < ids.length; i += 1000) {
    const page = ids.slice(i, i + 1000);
    const [subs, cursors] = await Promise.all([store.getMany(page), store.cursors(page)]);
    subs.forEach((s, j) => {
      if (s?.status !== "confirmed" || s.frequency !== frequency) return;
      const items = pickItems(s, picksFor(cursors[j] ?? at - PERIOD[frequency], s.language));
      if (items.length === 0) return; // nothing new: no email
      const key = segmentKey(s.language, items);
      const seg = segments.get(key) ?? { language: s.language, items, readers: [] };
      seg.readers.push(s.id);
      segments.set(key, seg);
    });
  }
  return segments;
}

function countsOf(segments: Map<string, PlannedSegment>): SegmentCount[] {
  return [...segments.entries()].map(([segment, s]) => ({
    segment,
    language: s.language,
    releases: s.items.length,
    readers: s.readers.length,
  }));
}

async function countPart(
  rt: Pick<Runtime, "subscribers">,
  frequency: DigestFrequency,
  at: number,
  ids: string[],
  candidates: Release[],
): Promise<DigestSummary> {
  const counts = countsOf(await segmentsOf(rt, frequency, at, ids, candidates));
  return {
    frequency,
    at: new Date(at).toISOString(),
    edition: "",
    dryRun: true,
    segments: counts,
    readers: counts.reduce((n, c) => n + c.readers, 0),
    batches: 0,
  };
}

/** Plans and fans out one part of an edition: the "part" job, or inline for an edition of one part. */
export async function runPart(
  rt: DigestDeps,
  frequency: DigestFrequency,
  at: number,
  edition: string,
  ids: string[],
  candidates: Release[],
): Promise<DigestSummary> {
  const segments = await segmentsOf(rt, frequency, at, ids, candidates);
  const brand = brandOf(rt.config, await rt.taxonomy.current());
  const plans: SegmentPlan[] = [...segments.entries()].map(([id, s]) => ({
    id,
    readers: s.readers,
    render: async () => ({
      kind: "digest",
      language: s.language,
      cursor: at,
      message: await renderDigest(brand, s.language, frequency, s.items),
    }),
  }));
  const fan: FanoutSummary = await fanOutDigestPart(rt, edition, plans, partOf(ids));
  return {
    frequency,
    at: new Date(at).toISOString(),
    edition,
    dryRun: false,
    segments: countsOf(segments),
    readers: fan.readers,
    batches: fan.batches,
  };
}

const DIGEST_RUNS_KEPT = 20;

/** The last digest editions queued (newest first), for `herald status`. Empty ones are not kept. */
async function recordDigestRun(rt: Pick<Runtime, "redis" | "key">, s: DigestSummary): Promise<void> {
  if (s.readers === 0) return;
  const entry = {
    edition: s.edition,
    frequency: s.frequency,
    at: s.at,
    readers: s.readers,
    segments: s.segments.length,
    batches: s.batches,
    ...(s.parts ? { parts: s.parts } : {}),
  };
  await execOrThrow(
    rt.redis
      .multi()
      .lpush(rt.key("digest-runs"), JSON.stringify(entry))
      .ltrim(rt.key("digest-runs"), 0, DIGEST_RUNS_KEPT - 1),
  );
}

export async function lastDigestRuns(
  rt: Pick<Runtime, "redis" | "key">,
  n = 5,
): Promise<{ edition: string; frequency: string; at: string; readers: number; segments: number; batches: number }[]> {
  return (await rt.redis.lrange(rt.key("digest-runs"), 0, n - 1)).map((r) => JSON.parse(r));
}

interface StoryPick {
  /** The version the reader gets: their language when translated, else the original. */
  pick: Release;
  /** What topics and regions are matched against: the original (else the pick). */
  story: Release;
}

/** The stories published after `from`, one version each for readers of `language`, newest first. */
function storyPicks(candidates: Release[], from: number, language: Language): StoryPick[] {
  const stories = new Map<string, Release[]>();
  for (const r of candidates) {
    if (Date.parse(r.publishedAt) <= from) continue;
    const root = r.translationOf ?? r.id;
    stories.set(root, [...(stories.get(root) ?? []), r]);
  }
  const out: StoryPick[] = [];
  for (const [root, versions] of stories) {
    const original = versions.find((v) => v.id === root);
    const pick = versions.find((v) => v.language === language) ?? original;
    // Only a translation in another language is new: the reader had the story already.
    if (pick) out.push({ pick, story: original ?? pick });
  }
  return out.sort((a, b) => b.pick.publishedAt.localeCompare(a.pick.publishedAt) || a.pick.id.localeCompare(b.pick.id));
}

function pickItems(s: Pick<Subscriber, "topics" | "regions">, picks: StoryPick[]): Release[] {
  const items: Release[] = [];
  for (const p of picks) {
    if (!wants(s, p.story)) continue;
    items.push(p.pick);
    if (items.length === MAX_ITEMS) break;
  }
  return items;
}

/**
 * What one reader's digest holds: releases published after `from` that match their topics and
 * regions, one version per story (their language when translated, else the original), newest first.
 */
export function digestItems(
  s: Pick<Subscriber, "language" | "topics" | "regions">,
  candidates: Release[],
  from: number,
): Release[] {
  return pickItems(s, storyPicks(candidates, from, s.language));
}

function segmentKey(language: Language, items: Release[]): string {
  const h = createHash("sha1");
  for (const r of items) h.update(`${r.id}@${r.revision}\n`);
  return `${language}-${h.digest("hex").slice(0, 12)}`;
}

/** The exact HTML `s` would get in a digest now, or null when there is nothing new for them. */
export async function previewDigest(
  rt: Pick<Runtime, "subscribers" | "releases" | "config" | "taxonomy">,
  frequency: DigestFrequency,
  s: Subscriber,
  at: number,
): Promise<string | null> {
  const [cursor] = await subscriberStore(rt).cursors([s.id]);
  const candidates = await rt.releases.publishedBetween("all", at - MAX_REACH[frequency], at, 1000);
  const items = digestItems(s, candidates, cursor ?? at - PERIOD[frequency]);
  if (items.length === 0) return null;
  const message = await renderDigest(brandOf(rt.config, await rt.taxonomy.current()), s.language, frequency, items);
  const links = readerLinks(rt.config.publicUrl, requireSecret(rt.config.secretKey), s.id);
  return personalise(message, {
    name: s.name,
    language: s.language,
    timezone: s.timezone,
    unsubscribeUrl: links.unsubscribe,
    preferencesUrl: links.preferences,
  }).html;
}
