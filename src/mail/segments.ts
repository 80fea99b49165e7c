// Rendered segments: the message every reader of a segment shares, rendered once by the job
// that fans out, kept in Redis for the send batches (which may run on other machines), and
// cached in process memory so a worker fetches each one once.
//   {p}:segment:{edition}:{segment}   JSON Segment (tens of KB for a digest), expires after 2 days:
//                                     longer than any retry of its batches (minutes to hours), and a
//                                     batch that finds it gone sends nothing (its ledger, kept 3
//                                     days, outlives it)
import { countStat } from "../metrics.ts";
import type { Config } from "../config/index.ts";
import type { EmailBatchJob } from "../jobs/queues.ts";
import type { Runtime } from "../runtime.ts";
import type { Language } from "../subscribers/model.ts";
import { renderConfirmation } from "../templates/messages.ts";
import type { Brand, RenderedMessage } from "../templates/render.ts";
import type { Taxonomy } from "../releases/taxonomy.ts";

export const SEGMENT_KEEP_S = 2 * 24 * 3600;

export interface Segment {
  kind: EmailBatchJob["kind"];
  language: Language;
  message: RenderedMessage;
  /** Alerts and notices: the release; sending stops once it is withdrawn. */
  releaseId?: string;
  /** Alerts: the releases whose content this is (correction notices go to their readers). */
  contentIds?: string[];
  /** Alerts: the story (the original release's id); a reader gets one alert per story. */
  storyId?: string;
  /** Digests: the publication time up to which this digest reaches (the readers' new cursor). */
  cursor?: number;
}

/** What every email shows of the organisation; `taxonomy` labels topics and regions (rt.taxonomy.current()). */
export function brandOf(config: Config, taxonomy?: Taxonomy): Brand {
  return {
    orgName: config.orgName,
    orgNames: config.orgNames,
    color: config.brandColor,
    logoUrl: config.logoUrl,
    publicUrl: config.publicUrl,
    ...(taxonomy ? { taxonomy } : {}),
  };
}

const cache = new Map<string, Segment>();
const CACHE_SIZE = 256;

function remember(key: string, s: Segment): void {
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, s);
}

export async function saveSegment(rt: Runtime, edition: string, segment: string, s: Segment): Promise<void> {
  await rt.redis.set(rt.key("segment", edition, segment), JSON.stringify(s), "EX", SEGMENT_KEEP_S);
}

/** Whether the segment is stored (and so not to be rendered again by another planning part). */
export async function segmentStored(rt: Runtime, edition: string, segment: string): Promise<boolean> {
  return (await rt.redis.exists(rt.key("segment", edition, segment))) === 1;
}

/** The segment of a batch, or null when it expired (nothing left to send for it). */
export async function loadSegment(rt: Runtime, job: EmailBatchJob): Promise<Segment | null> {
  // Confirmations are one reader each: one render per language serves every one of them.
  const language = job.kind === "confirm" ? (job.segment.replace(/^confirm-/, "") as Language) : undefined;
  const key = language ? rt.key("segment", "confirm", language) : rt.key("segment", job.edition, job.segment);
  const hit = cache.get(key);
  if (hit) return hit;
  let s: Segment | null;
  if (language) {
    s = { kind: "confirm", language, message: await renderConfirmation(brandOf(rt.config), language) };
    await countStat(rt, "herald_mjml_renders_total");
  } else {
    const raw = await rt.redis.get(key);
    s = raw ? (JSON.parse(raw) as Segment) : null;
  }
  if (s) remember(key, s);
  return s;
}
