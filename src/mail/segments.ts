// Rendered segments: the message every reader of a segment shares, rendered once by the job
// that fans out, kept in Redis for the send batches (which may run on other machines), and
// cached in process memory so a worker fetches each one once.
//   {p}:segment:{edition}:{segment}   JSON Segment, expires after 2 days: longer than any retry of
//                                     its batches (minutes to hours), and a batch that finds it gone
//                                     sends nothing (its ledger, kept 3 days, outlives it)
//   {p}:piece:{sha1}                  a long piece of an assembled HTML (the layout, a release's
//                                     rows), stored once for every segment that holds it; its
//                                     expiry is pushed past that of the newest segment using it
// A digest run forms about one segment per reader or two once readers choose among many topics
// and regions and their cursors differ: each segment's JSON then holds only its own short pieces
// and the hashes of the shared ones, a few KB instead of the whole HTML.
import { createHash } from "node:crypto";
import { countStat } from "../metrics.ts";
import { execOrThrow } from "../redis/pipeline.ts";
import type { Config } from "../config/index.ts";
import type { EmailBatchJob } from "../jobs/queues.ts";
import type { Runtime } from "../runtime.ts";
import type { Language } from "../i18n/languages.ts";
import { renderConfirmation } from "../templates/messages.ts";
import { assembledMessage, type Brand, type RenderedMessage } from "../templates/render.ts";
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
/** Segments kept in process memory, bounded by their text (a 50-item digest is ~170k characters). */
const CACHE_CHARS = 3_000_000;
let cachedChars = 0;
const sizeOf = (s: Segment) =>
  (s.message.parts ? s.message.parts.reduce((n, p) => n + p.length, 0) : s.message.html.length) + s.message.text.length;

function remember(key: string, s: Segment): void {
  while (cache.size > 0 && cachedChars + sizeOf(s) > CACHE_CHARS) {
    const oldest = cache.keys().next().value!;
    cachedChars -= sizeOf(cache.get(oldest)!);
    cache.delete(oldest);
  }
  cache.set(key, s);
  cachedChars += sizeOf(s);
}

/** Pieces at least this long are stored once by hash; shorter ones stay in the segment's JSON. */
const SHARED_PIECE = 512;
/** A day longer than a segment: a piece whose expiry was just pushed outlives the segment saved after it. */
const PIECE_KEEP_S = SEGMENT_KEEP_S + 86_400;
/** Pieces read by this process, by hash, bounded by characters. */
const pieces = new Map<string, string>();
const PIECES_CHARS = 4_000_000;
let pieceChars = 0;

function keepPiece(hash: string, text: string): void {
  if (pieces.has(hash)) return;
  while (pieces.size > 0 && pieceChars + text.length > PIECES_CHARS) {
    const oldest = pieces.keys().next().value!;
    pieceChars -= pieces.get(oldest)!.length;
    pieces.delete(oldest);
  }
  pieces.set(hash, text);
  pieceChars += text.length;
}

/** Hashes of pieces by the piece: the same release rows recur in many segments of a run (and a string's lookup key is cached in it). */
const hashes = new Map<string, string>();
function pieceHash(text: string): string {
  let h = hashes.get(text);
  if (!h) {
    h = createHash("sha1").update(text).digest("hex");
    if (hashes.size >= 4000) hashes.clear();
    hashes.set(text, h);
  }
  return h;
}

/** How a segment is stored: the message's `parts` as short strings or hashes of stored pieces, and no `html`. */
type StoredMessage = Omit<RenderedMessage, "html" | "parts"> & { html?: string; parts?: (string | { h: string })[] };

export async function saveSegment(rt: Runtime, edition: string, segment: string, s: Segment): Promise<void> {
  const m = s.message;
  if (!m.parts) {
    await rt.redis.set(rt.key("segment", edition, segment), JSON.stringify(s), "EX", SEGMENT_KEEP_S);
    return;
  }
  const ids = m.parts.map((p) => (p.length < SHARED_PIECE ? null : pieceHash(p)));
  const unique = [...new Map(ids.flatMap((h, i) => (h ? [[h, m.parts![i]!] as const] : []))).entries()];
  const parts = m.parts.map((p, i) => (ids[i] ? { h: ids[i]! } : p));
  // Named one by one: reading `html` would join the parts (see assembledMessage).
  const message: StoredMessage = { subject: m.subject, text: m.text, nonce: m.nonce, dates: m.dates, parts };
  // Each piece outlives every segment that names it, and the segment is stored only once all its
  // pieces are: a sender never reads a segment whose pieces are not there yet (after a restart
  // the layout's pieces are new, while batches of the earlier fan-out may still be running). One
  // step when every piece is already stored (their expiry pushed), two when some must be written.
  const json = JSON.stringify({ ...s, message });
  const keys = [rt.key("segment", edition, segment), ...unique.map(([h]) => rt.key("piece", h))];
  const missing = (await rt.redis.eval(
    STORE_IF_COMPLETE,
    keys.length,
    ...keys,
    json,
    String(SEGMENT_KEEP_S),
    String(PIECE_KEEP_S),
  )) as number[];
  if (missing.length > 0) {
    const write = rt.redis.multi();
    // Lua indexes from 1: KEYS[i] is keys[i - 1], the piece unique[i - 2].
    for (const i of missing) write.set(keys[i - 1]!, unique[i - 2]![1], "EX", PIECE_KEEP_S);
    write.set(keys[0]!, json, "EX", SEGMENT_KEEP_S);
    await execOrThrow(write);
  }
}

/** KEYS[1] the segment, KEYS[2..] its pieces: pushes each piece's expiry; stores the segment when none is missing; answers the missing ones' KEYS indexes. */
const STORE_IF_COMPLETE = `
local missing = {}
for i = 2, #KEYS do
  if redis.call('EXPIRE', KEYS[i], ARGV[3]) == 0 then missing[#missing + 1] = i end
end
if #missing == 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return missing
`;

/** A stored segment back as a Segment: its shared pieces from this process's memory or Redis. */
async function restore(rt: Runtime, raw: string): Promise<Segment | null> {
  const s = JSON.parse(raw) as Omit<Segment, "message"> & { message: StoredMessage };
  const stored = s.message.parts;
  if (!stored) return s as Segment;
  // The process cache is keyed by content hash, so a piece read for one Redis (or prefix) is the
  // same text for any other.
  const local = new Map<string, string>();
  const missing: string[] = [];
  for (const p of stored) {
    if (typeof p === "string" || local.has(p.h)) continue;
    const known = pieces.get(p.h);
    if (known === undefined) {
      if (!missing.includes(p.h)) missing.push(p.h);
    } else local.set(p.h, known);
  }
  if (missing.length > 0) {
    const got = await rt.redis.mget(...missing.map((h) => rt.key("piece", h)));
    for (const [i, text] of got.entries()) {
      if (text === null) return null; // expired with its segment's content: nothing left to send
      local.set(missing[i]!, text);
      keepPiece(missing[i]!, text);
    }
  }
  const parts = stored.map((p) => (typeof p === "string" ? p : local.get(p.h)!));
  const { parts: _stored, html: _html, ...rest } = s.message;
  return { ...s, message: assembledMessage(rest, parts) };
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
    s = raw ? await restore(rt, raw) : null;
  }
  if (s) remember(key, s);
  return s;
}
