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
import { type FanoutSummary, fanOutSegments, type SegmentPlan } from "./fanout.ts";
import { brandOf } from "./segments.ts";
import type { Release } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";
import { readerLinks } from "../subscribers/links.ts";
import { type DigestFrequency, type Language, type Subscriber, wants } from "../subscribers/model.ts";
import { SubscriberService, subscriberStore } from "../subscribers/service.ts";
import { requireSecret } from "../subscribers/tokens.ts";
import { renderDigest } from "../templates/messages.ts";
import { personalise } from "../templates/personalise.ts";
import type { DigestJob } from "../jobs/queues.ts";
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
}

export async function processDigest(job: Job<DigestJob>, rt: Runtime): Promise<DigestSummary[] | { expired: number }> {
  // Subscriber upkeep shares this queue's scheduler (schedules.ts) rather than a queue of its own.
  if (job.name === "expire-pending") {
    const expired = await new SubscriberService(rt).expirePending();
    if (expired) rt.log.info(`erased ${expired} subscriber(s) still pending after ${rt.config.pendingExpiryDays} day(s)`);
    return { expired };
  }
  const at = job.data.at ? Date.parse(job.data.at) : nearestHour(rt.clock.now());
  if (job.name === "tick") return digestTick(rt, at);
  const frequency = job.data.frequency ?? "daily";
  return [await runDigest(rt, frequency, at, { dryRun: job.data.dryRun ?? false })];
}

export function nearestHour(ms: number): number {
  return Math.round(ms / HOUR) * HOUR;
}

/** The local hour and weekday at `ms` in `timeZone`. */
export function localTime(ms: number, timeZone: string): { hour: number; weekday: Weekday } {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", hourCycle: "h23", weekday: "long" }).formatToParts(ms);
  const hour = Number(parts.find((p) => p.type === "hour")?.value ?? 0);
  const weekday = (parts.find((p) => p.type === "weekday")?.value ?? "").toLowerCase() as Weekday;
  return { hour, weekday };
}

function compact(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace(/[-:]/g, "");
}

/** The scheduled hour: for each frequency, the zones where it is now the send hour. */
export async function digestTick(rt: Runtime, at: number): Promise<DigestSummary[]> {
  const store = subscriberStore(rt);
  const out: DigestSummary[] = [];
  for (const frequency of ["daily", "weekly"] as const) {
    const zones = (await store.timezones(frequency)).filter((tz) => {
      const local = localTime(at, tz);
      return local.hour === rt.config.digestHour && (frequency === "daily" || local.weekday === rt.config.weeklyDigestDay);
    });
    if (zones.length === 0) continue;
    async function* ids() {
      for (const z of zones) yield* store.confirmedIdsInZone(frequency, z);
    }
    out.push(await digestEdition(rt, frequency, at, `${frequency}-${compact(at)}`, ids(), false));
  }
  return out;
}

/** Ops: every confirmed reader of the frequency, now. */
export async function runDigest(rt: Runtime, frequency: DigestFrequency, at: number, opts: { dryRun: boolean }): Promise<DigestSummary> {
  const store = subscriberStore(rt);
  return digestEdition(rt, frequency, at, `${frequency}-run-${at}`, store.confirmedIds(frequency), opts.dryRun);
}

interface PlannedSegment {
  language: Language;
  items: Release[];
  readers: string[];
}

async function digestEdition(
  rt: Runtime,
  frequency: DigestFrequency,
  at: number,
  edition: string,
  idBatches: AsyncIterable<string[]>,
  dryRun: boolean,
): Promise<DigestSummary> {
  const store = subscriberStore(rt);
  const candidates = await rt.releases.publishedBetween("all", at - MAX_REACH[frequency], at, 1000);
  // Readers with the same cursor and language choose from the same stories: work them out once.
  const picks = new Map<string, StoryPick[]>();
  const picksFor = (from: number, language: Language) => {
    const key = `${from}|${language}`;
    const p = picks.get(key) ?? storyPicks(candidates, from, language);
    picks.set(key, p);
    return p;
  };
  const segments = new Map<string, PlannedSegment>();
  for await (const ids of idBatches) {
    const [subs, cursors] = await Promise.all([store.getMany(ids), store.cursors(ids)]);
    subs.forEach((s, i) => {
      if (s?.status !== "confirmed" || s.frequency !== frequency) return;
      const items = pickItems(s, picksFor(cursors[i] ?? at - PERIOD[frequency], s.language));
      if (items.length === 0) return; // nothing new: no email
      const key = segmentKey(s.language, items);
      const seg = segments.get(key) ?? { language: s.language, items, readers: [] };
      seg.readers.push(s.id);
      segments.set(key, seg);
    });
  }
  const counts = [...segments.entries()].map(([segment, s]) => ({ segment, language: s.language, releases: s.items.length, readers: s.readers.length }));
  const summary = { frequency, at: new Date(at).toISOString(), edition, dryRun, segments: counts, readers: 0, batches: 0 };
  if (dryRun) return { ...summary, readers: counts.reduce((n, c) => n + c.readers, 0) };
  const brand = brandOf(rt.config, await rt.taxonomy.current());
  const plans: SegmentPlan[] = [...segments.entries()].map(([id, s]) => ({
    id,
    readers: s.readers,
    render: async () => ({ kind: "digest", language: s.language, cursor: at, message: await renderDigest(brand, s.language, frequency, s.items) }),
  }));
  const fan: FanoutSummary = await fanOutSegments(rt, edition, "digest", plans);
  const done = { ...summary, readers: fan.readers, batches: fan.batches };
  await recordDigestRun(rt, done);
  return done;
}

const DIGEST_RUNS_KEPT = 20;

/** The last digest editions queued (newest first), for `herald status`. Empty ones are not kept. */
async function recordDigestRun(rt: Runtime, s: DigestSummary): Promise<void> {
  if (s.readers === 0) return;
  const entry = { edition: s.edition, frequency: s.frequency, at: s.at, readers: s.readers, segments: s.segments.length, batches: s.batches };
  await execOrThrow(rt.redis.multi().lpush(rt.key("digest-runs"), JSON.stringify(entry)).ltrim(rt.key("digest-runs"), 0, DIGEST_RUNS_KEPT - 1));
}

export async function lastDigestRuns(rt: Runtime, n = 5): Promise<{ edition: string; frequency: string; at: string; readers: number; segments: number; batches: number }[]> {
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
export function digestItems(s: Pick<Subscriber, "language" | "topics" | "regions">, candidates: Release[], from: number): Release[] {
  return pickItems(s, storyPicks(candidates, from, s.language));
}

function segmentKey(language: Language, items: Release[]): string {
  const h = createHash("sha1");
  for (const r of items) h.update(`${r.id}@${r.revision}\n`);
  return `${language}-${h.digest("hex").slice(0, 12)}`;
}

/** The exact HTML `s` would get in a digest now, or null when there is nothing new for them. */
export async function previewDigest(rt: Runtime, frequency: DigestFrequency, s: Subscriber, at: number): Promise<string | null> {
  const [cursor] = await subscriberStore(rt).cursors([s.id]);
  const candidates = await rt.releases.publishedBetween("all", at - MAX_REACH[frequency], at, 1000);
  const items = digestItems(s, candidates, cursor ?? at - PERIOD[frequency]);
  if (items.length === 0) return null;
  const message = await renderDigest(brandOf(rt.config, await rt.taxonomy.current()), s.language, frequency, items);
  const links = readerLinks(rt.config.publicUrl, requireSecret(rt.config.secretKey), s.id);
  return personalise(message, { name: s.name, language: s.language, timezone: s.timezone, unsubscribeUrl: links.unsubscribe, preferencesUrl: links.preferences }).html;
}
