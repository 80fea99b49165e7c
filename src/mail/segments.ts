// Rendered segments: the message every reader of a segment shares, rendered once by the job
// that fans out, kept in Redis for the send batches (which may run on other machines), and
// cached in process memory so a worker fetches each one once.
//   {p}:segment:{edition}:{segment}   JSON Segment, expires after 2 days: longer than any retry of
//                                     its batches (minutes to hours), and a batch that finds it gone
//                                     sends nothing (its ledger, kept 3 days, outlives it)
//   {p}:piece:{edition}:{hash}        a long piece of an assembled HTML (the layout, a release's
//                                     rows) or of its text (a release's lines), stored once for every
//                                     segment of the edition that holds it (hash: 96 bits of its
//                                     SHA-1, base64url); its expiry is pushed past that of the newest
//                                     segment using it, and a digest edition's go with its segments
//                                     (fanoutStep)
//   {p}:piece:{sha1}                  the same, shared by every edition, as stored before pieces were
//                                     per edition: still read (never written) until they expire
// A digest run forms about one segment per reader or two once readers choose among many topics
// and regions and their cursors differ: each segment's JSON then holds only its own short pieces
// and the hashes of the shared ones, ~4 KB for a 12-item digest instead of its ~70 KB of HTML and
// text, and the edition's segments are all in Redis at once while it is sent.
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
import { type LedgerDeps, ledgerOf } from "./ledger.ts";

export const SEGMENT_KEEP_S = 2 * 24 * 3600;

/** What storing and reading segments takes of the runtime. */
export type SegmentDeps = Pick<Runtime, "redis" | "key">;
/** Reading a batch's segments: a confirmation is rendered (brand from the config) and counted on first use. */
export type SegmentReadDeps = SegmentDeps & Pick<Runtime, "config" | "log">;

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

/**
 * Brands by config and vocabulary: the same object for the same pair (rt.taxonomy.current() is
 * the same object until the vocabulary changes), so the renderers' caches by brand
 * (messages.ts) serve every digest part and alert of a process, not only one.
 */
const brands = new WeakMap<Config, { plain?: Brand; by: WeakMap<Taxonomy, Brand> }>();

/** What every email shows of the organisation; `taxonomy` labels topics and regions (rt.taxonomy.current()). */
export function brandOf(config: Config, taxonomy?: Taxonomy): Brand {
  let known = brands.get(config);
  if (!known) {
    known = { by: new WeakMap() };
    brands.set(config, known);
  }
  let brand = taxonomy ? known.by.get(taxonomy) : known.plain;
  if (!brand) {
    brand = {
      orgName: config.orgName,
      orgNames: config.orgNames,
      color: config.brandColor,
      logoUrl: config.logoUrl,
      publicUrl: config.publicUrl,
      ...(taxonomy ? { taxonomy } : {}),
    };
    if (taxonomy) known.by.set(taxonomy, brand);
    else known.plain = brand;
  }
  return brand;
}

const cache = new Map<string, Segment>();
/** Segments kept in process memory, bounded by their text (a 50-item digest is ~170k characters). */
const CACHE_CHARS = 3_000_000;
let cachedChars = 0;
const lengthOf = (parts: string[] | undefined, whole: () => string) =>
  parts ? parts.reduce((n, p) => n + p.length, 0) : whole().length;
const sizeOf = (s: Segment) =>
  lengthOf(s.message.parts, () => s.message.html) + lengthOf(s.message.textParts, () => s.message.text);

function remember(key: string, s: Segment): void {
  while (cache.size > 0 && cachedChars + sizeOf(s) > CACHE_CHARS) {
    const oldest = cache.keys().next().value!;
    cachedChars -= sizeOf(cache.get(oldest)!);
    cache.delete(oldest);
  }
  cache.set(key, s);
  cachedChars += sizeOf(s);
}

/** Pieces of an HTML at least this long are stored once by hash; shorter ones stay in the segment's JSON. */
const SHARED_PIECE = 512;
/**
 * The same for a text's pieces. A digest's text has none of a segment's own (its intro, headings
 * and each release's lines recur in every segment holding them), so shorter ones are shared too,
 * where an HTML's short pieces include the preview line, different in every segment.
 */
const SHARED_TEXT_PIECE = 64;
/** A day longer than a segment: a piece whose expiry was just pushed outlives the segment saved after it. */
const PIECE_KEEP_S = SEGMENT_KEEP_S + 86_400;
/**
 * Pieces read by this process, by hash, bounded by their memory: V8 keeps a string with any
 * character above U+00FF (a curly quote in a title) at two bytes per character, as most
 * release rows are.
 */
const pieces = new Map<string, string>();
const PIECES_BYTES = 4 * 1024 * 1024;
let pieceBytes = 0;
const WIDE = /[^\u0000-\u00ff]/;
const memoryOf = (text: string) => (WIDE.test(text) ? 2 : 1) * text.length;

function keepPiece(hash: string, text: string): void {
  if (pieces.has(hash)) return;
  const bytes = memoryOf(text);
  while (pieces.size > 0 && pieceBytes + bytes > PIECES_BYTES) {
    const oldest = pieces.keys().next().value!;
    pieceBytes -= memoryOf(pieces.get(oldest)!);
    pieces.delete(oldest);
  }
  pieces.set(hash, text);
  pieceBytes += bytes;
}

/**
 * Hashes of pieces by the piece: the same release rows recur in many segments of a run (and a
 * string's lookup key is cached in it). 96 bits: a segment names a few dozen pieces, and a
 * 40-character hex hash was a quarter of its stored bytes. Bounded by memory (the keys are
 * copies: 2,000 release rows were ~8 MB), and emptied whole when full.
 */
const hashes = new Map<string, string>();
const HASHES_BYTES = 2 * 1024 * 1024;
let hashedBytes = 0;
function pieceHash(text: string): string {
  let h = hashes.get(text);
  if (!h) {
    h = createHash("sha1").update(text).digest("base64url").slice(0, 16);
    const bytes = memoryOf(text);
    if (hashedBytes + bytes > HASHES_BYTES) {
      hashes.clear();
      hashedBytes = 0;
    }
    // A copy: a cut of the text is a slice, and as a key it would keep the whole text alive.
    hashes.set(Buffer.from(text).toString(), h);
    hashedBytes += bytes;
  }
  return h;
}

/**
 * A stored message's pieces: short strings, and references to stored pieces (`e`: the edition's
 * piece {p}:piece:{edition}:{e}; `h`: a shared {p}:piece:{h} of a segment stored before).
 */
type StoredPart = string | { e: string } | { h: string };
type StoredParts = StoredPart[];
/** How a segment is stored: the message's pieces as short strings or references to stored pieces, and no joined `html` (nor `text`, when in pieces). */
type StoredMessage = Omit<RenderedMessage, "html" | "parts" | "text" | "textParts"> & {
  html?: string;
  text?: string;
  parts?: StoredParts;
  textParts?: StoredParts;
};

export async function saveSegment(rt: SegmentDeps, edition: string, segment: string, s: Segment): Promise<void> {
  await saveSegments(rt, edition, [[segment, s]]);
}

/** Whether the segment is stored (and so not to be rendered again by another planning part). */
export async function segmentStored(rt: SegmentDeps, edition: string, segment: string): Promise<boolean> {
  return (await rt.redis.exists(rt.key("segment", edition, segment))) === 1;
}

/** The stored form of a message: its long pieces by hash (added to `pieces`, hash -> text). */
function storedMessage(m: RenderedMessage, pieces: Map<string, string>): StoredMessage {
  // Named one by one: reading `html` (or `text`) would join the pieces (see assembledMessage).
  const { subject, nonce, dates } = m;
  const text = m.textParts ? { textParts: storedParts(m.textParts, SHARED_TEXT_PIECE, pieces) } : { text: m.text };
  return { subject, nonce, dates, parts: storedParts(m.parts!, SHARED_PIECE, pieces), ...text };
}

function storedParts(list: string[], min: number, pieces: Map<string, string>): StoredParts {
  const out: StoredParts = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const p = list[i]!;
    if (p.length < min) out[i] = p;
    else {
      const h = pieceHash(p);
      pieces.set(h, p);
      out[i] = { e: h };
    }
  }
  return out;
}

/**
 * Stores segments of one edition in two round trips however many (a digest part renders
 * hundreds). With `track`, their ids and their pieces' are also listed for the edition, so they
 * can be deleted once its last batch is done (fanoutStep).
 */
export async function saveSegments(
  rt: SegmentDeps,
  edition: string,
  list: [string, Segment][],
  opts: { track?: boolean } = {},
): Promise<void> {
  if (list.length === 0) return;
  /** Every piece the segments name, once: hash -> text. */
  const pieces = new Map<string, string>();
  const json = list.map(([, s]) =>
    JSON.stringify(s.message.parts ? { ...s, message: storedMessage(s.message, pieces) } : s),
  );
  // Each piece outlives every segment that names it, and a segment is stored only once all its
  // pieces are: a sender never reads a segment whose pieces are not there yet (after a restart the
  // layout's pieces are new, while batches of the earlier fan-out may still be running). First
  // every piece's expiry is pushed (one step for all the segments), then the missing pieces are
  // written before the segments, in one MULTI.
  const hashes = [...pieces.keys()];
  // The edition's own pieces: they go with its segments once its last batch is done (fanoutStep),
  // so no other edition can lose a piece it needs.
  const keys = hashes.map((h) => rt.key("piece", edition, h));
  const missing =
    keys.length > 0 ? await withCommands(rt).heraldKeepPieces(keys.length, ...keys, String(PIECE_KEEP_S)) : [];
  const write = rt.redis.multi();
  // Lua indexes from 1.
  for (const i of missing) write.set(keys[i - 1]!, pieces.get(hashes[i - 1]!)!, "EX", PIECE_KEEP_S);
  list.forEach(([segment], i) => {
    write.set(rt.key("segment", edition, segment), json[i]!, "EX", SEGMENT_KEEP_S);
  });
  if (opts.track) {
    const listKey = rt.key("segments", edition);
    write.sadd(listKey, ...list.map(([id]) => id)).expire(listKey, SEGMENT_KEEP_S);
    const piecesKey = rt.key("pieces", edition);
    if (hashes.length > 0) write.sadd(piecesKey, ...hashes).expire(piecesKey, PIECE_KEEP_S);
  }
  await execOrThrow(write);
}

/** KEYS: pieces. Pushes each one's expiry to ARGV[1] seconds; answers the KEYS indexes of those missing. */
const KEEP_PIECES = `
local missing = {}
for i = 1, #KEYS do
  if redis.call('EXPIRE', KEYS[i], ARGV[1]) == 0 then missing[#missing + 1] = i end
end
return missing
`;

/** Segment scripts as ioredis commands: a pipeline of hundreds sends each script's body once (EVALSHA). */
interface SegmentCommands {
  heraldKeepPieces(numberOfKeys: number, ...args: string[]): Promise<number[]>;
  heraldFanoutStep(...args: string[]): Promise<number>;
}

function withCommands(rt: Pick<Runtime, "redis">): Runtime["redis"] & SegmentCommands {
  const r = rt.redis as Runtime["redis"] & Partial<SegmentCommands>;
  if (!r.heraldKeepPieces) {
    rt.redis.defineCommand("heraldKeepPieces", { lua: KEEP_PIECES });
    rt.redis.defineCommand("heraldFanoutStep", { numberOfKeys: 2, lua: FANOUT_STEP });
  }
  return r as Runtime["redis"] & SegmentCommands;
}

/** A stored piece reference's hash: the process cache's key. */
const refHash = (p: { e: string } | { h: string }) => ("e" in p ? p.e : p.h);

/** Stored segments of an edition back as Segments: their shared pieces from this process's memory, the rest in one read. */
async function restoreMany(rt: SegmentDeps, edition: string, raws: (string | null)[]): Promise<(Segment | null)[]> {
  const parsed = raws.map((raw) =>
    raw === null ? null : (JSON.parse(raw) as Omit<Segment, "message"> & { message: StoredMessage }),
  );
  // The process cache is keyed by content hash, so a piece read for one edition, Redis or prefix
  // is the same text for any other. Hash -> text, or the key to read it from.
  const local = new Map<string, string | { key: string }>();
  for (const s of parsed)
    for (const p of [...(s?.message.parts ?? []), ...(s?.message.textParts ?? [])]) {
      if (typeof p === "string") continue;
      const h = refHash(p);
      if (!local.has(h))
        local.set(h, pieces.get(h) ?? { key: "e" in p ? rt.key("piece", edition, h) : rt.key("piece", h) });
    }
  const missing = [...local].flatMap(([h, text]) => (typeof text === "string" ? [] : [[h, text.key] as const]));
  if (missing.length > 0) {
    const got = await rt.redis.mget(...missing.map(([, key]) => key));
    got.forEach((text, i) => {
      if (text === null) return; // expired or deleted with its segments
      local.set(missing[i]![0], text);
      keepPiece(missing[i]![0], text);
    });
  }
  /** The stored parts' texts, or null when a piece is gone. */
  const texts = (stored: StoredPart[]): string[] | null => {
    const out: string[] = [];
    for (const p of stored) {
      const text = typeof p === "string" ? p : local.get(refHash(p));
      if (typeof text !== "string") return null;
      out.push(text);
    }
    return out;
  };
  return parsed.map((s) => {
    if (!s) return null;
    const { parts: stored, textParts: storedText, html: _html, text: wholeText, ...rest } = s.message;
    if (!stored) return s as Segment;
    const parts = texts(stored);
    const text = storedText ? texts(storedText) : wholeText!;
    // a piece is gone: nothing left to send, never a mail with a hole in it
    if (!parts || !text) return null;
    return { ...s, message: assembledMessage(rest, parts, text) };
  });
}

/** The segment of a batch, or null when it expired (nothing left to send for it). */
export async function loadSegment(rt: SegmentReadDeps, job: EmailBatchJob): Promise<Segment | null> {
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
    s = (await restoreMany(rt, job.edition, [await rt.redis.get(key)]))[0] ?? null;
  }
  if (s) remember(key, s);
  return s;
}

/**
 * Each reader's segment for a batch, in the order of its subscriberIds (null where it expired).
 * A batch of many small segments reads those this process has not cached in one step.
 */
export async function readerSegments(rt: SegmentReadDeps, job: EmailBatchJob): Promise<(Segment | null)[]> {
  if (!job.segments) {
    const s = await loadSegment(rt, job);
    return job.subscriberIds.map(() => s);
  }
  const ids = [...new Set(job.segments.map(([id]) => id))];
  const keys = ids.map((id) => rt.key("segment", job.edition, id));
  const found = new Map<string, Segment | null>();
  const unread: number[] = [];
  keys.forEach((k, i) => {
    const hit = cache.get(k);
    if (hit) found.set(ids[i]!, hit);
    else unread.push(i);
  });
  if (unread.length > 0) {
    const read = await restoreMany(rt, job.edition, await rt.redis.mget(...unread.map((i) => keys[i]!)));
    // Kept for other batches only when its readers may go on in one: the first and the last run
    // of the batch. A part's readers come segment after segment, so a run in the middle is all of
    // that segment's readers in this part, and keeping it would fill the cache with segments
    // never read again (realistic readers form one segment per one or two of them).
    const edges = new Set([job.segments[0]?.[0], job.segments[job.segments.length - 1]?.[0]]);
    read.forEach((s, k) => {
      found.set(ids[unread[k]!]!, s);
      if (s && edges.has(ids[unread[k]!]!)) remember(keys[unread[k]!]!, s);
    });
  }
  const out: (Segment | null)[] = [];
  for (const [id, n] of job.segments) for (let k = 0; k < n; k++) out.push(found.get(id) ?? null);
  return out;
}

// Deleting a digest edition's segments and pieces, and settling its ledger (ledger.ts), once its
// last batch is done. Otherwise a run keeps one segment per one or two readers for 2 days (more
// than the readers' records themselves), and a ledger entry per reader.
//   {p}:segments:{edition}       set of the segment ids its parts stored
//   {p}:pieces:{edition}         set of the hashes of the pieces they name
//   {p}:fanout:{edition}         hash: parts = the edition's part names (comma-separated, set by
//                                the planner once every part is handed out), b.{part} = batches that
//                                part queued (set before queueing them), d.{part} = those done
//   {p}:fanout-done:{edition}    set of the batch job ids done (a batch that completes twice counts once)
// All expire with the segments (2 days; the pieces' list with the pieces, a day later), so an
// edition that never completes (a batch failed for good) is cleaned by expiry as before. Safe: a
// batch completes only when each of its readers was sent (and ledgered), skipped or refused for
// good; a retry or a deferral does not complete it. Pieces are the edition's own, so no other
// edition loses one. Should a part be planned again later (a retry after a crash), a batch of it
// finds its segment gone, or the settled ledger: it sends nothing (never twice), and readers it
// had not sent keep their cursor, so their next digest holds these stories.

/** KEYS[1] the fanout hash, KEYS[2] the done set. ARGV: "parts", names | "part", name, batches | "done", part, batch id; then keep (s). 1 once, after the step that completed the edition. */
const FANOUT_STEP = `
local op = ARGV[1]
local keep = ARGV[#ARGV]
if op == 'parts' then
  redis.call('HSET', KEYS[1], 'parts', ARGV[2])
elseif op == 'part' then
  redis.call('HSETNX', KEYS[1], 'b.' .. ARGV[2], ARGV[3])
elseif redis.call('SADD', KEYS[2], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'd.' .. ARGV[2], 1)
  redis.call('EXPIRE', KEYS[2], keep)
end
redis.call('EXPIRE', KEYS[1], keep)
local h = redis.call('HGETALL', KEYS[1])
local f = {}
for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
if f['cleaned'] or not f['parts'] then return 0 end
for part in string.gmatch(f['parts'], '[^,]+') do
  if not f['b.' .. part] then return 0 end
end
for k, v in pairs(f) do
  if string.sub(k, 1, 2) == 'b.' and tonumber(f['d.' .. string.sub(k, 3)] or '0') < tonumber(v) then return 0 end
end
redis.call('HSET', KEYS[1], 'cleaned', '1')
return 1
`;

type FanoutStep = ["parts", string[]] | ["part", string, number] | ["done", string, string];

/** One step of an edition's fan-out bookkeeping (above); the step that completes it settles the ledger and deletes the segments and pieces. */
export async function fanoutStep(rt: SegmentDeps & LedgerDeps, edition: string, ...step: FanoutStep): Promise<void> {
  const [op, ...args] = step;
  const values = op === "parts" ? [(args[0] as string[]).join(",")] : args.map(String);
  const last = await withCommands(rt).heraldFanoutStep(
    rt.key("fanout", edition),
    rt.key("fanout-done", edition),
    op,
    ...values,
    String(SEGMENT_KEEP_S),
  );
  if (last !== 1) return;
  await ledgerOf(rt).settle(edition);
  await deleteListed(rt, rt.key("segments", edition), (id) => rt.key("segment", edition, id));
  await deleteListed(rt, rt.key("pieces", edition), (h) => rt.key("piece", edition, h));
  await rt.redis.del(rt.key("fanout-done", edition));
}

/** Deletes the keys a set lists (in pages of 1,000), then the set. */
async function deleteListed(rt: SegmentDeps, listKey: string, keyOf: (member: string) => string): Promise<void> {
  const members = await rt.redis.smembers(listKey);
  for (let i = 0; i < members.length; i += 1000) await rt.redis.del(...members.slice(i, i + 1000).map(keyOf));
  await rt.redis.del(listKey);
}
