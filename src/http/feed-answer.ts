// How a request for a built feed is answered: 200 with the body, or 304 when the reader's copy
// matches its validators. The one function behind both ways a feed is served (the Fastify route
// in feeds.ts and the early answer for polls in feed-polls.ts), so the two cannot drift apart.
//
// Content coding (RFC 9110 §8.4, §12.5.3): the body is stored gzip- and brotli-compressed next to
// itself at build time (feeds/cache.ts), so answering in either costs no CPU. Each coding is its
// own representation with its own ETag (`"tag"`, `"tag-gz"`, `"tag-br"`), and every answer says
// `Vary: Accept-Encoding`. A conditional request is answered 304 when it names the tag of any
// coding of the current body: the content is the same, and the 304 carries the tag of the coding
// this request would get (as Apache and nginx do with compressed variants).
// JSON Feed is read by browser apps too: it carries `Access-Control-Allow-Origin: *` (it is public).
import type { IncomingHttpHeaders } from "node:http";
import type { FeedEntry } from "../feeds/cache.ts";
import { compressBody } from "../feeds/cache.ts";
import { httpDate, notModified } from "../feeds/conditional.ts";
import { type FeedFormat, FORMAT_TYPE } from "../feeds/keys.ts";

/** JSON Feed answers: any origin may read it, and its ETag (not a CORS-safelisted header). */
export const CORS = { "access-control-allow-origin": "*", "access-control-expose-headers": "ETag" } as const;

/** Readers may reuse a copy this long without asking; after that a 304 is nearly free. */
export const FEED_MAX_AGE_S = 60;

export type Coding = "identity" | "gzip" | "br";
const CODINGS: readonly Coding[] = ["br", "gzip", "identity"];
const SUFFIX: Record<Coding, string> = { identity: "", gzip: "-gz", br: "-br" };

export interface FeedAnswer {
  status: 200 | 304;
  headers: Readonly<Record<string, string>>;
  /** Only with 200. */
  body?: Buffer;
}

interface Variant {
  ok: FeedAnswer;
  notModified: FeedAnswer;
  etag: string;
}

interface Answers {
  format: FeedFormat;
  variants: Record<Coding, Variant>;
  /** Every coding's tag, as sent and with a W/ prefix (a proxy may weaken it): the one-tag fast path. */
  tags: Set<string>;
}

// Formatted once per built entry: the reader hands out the same entry object until the feed
// changes, and polls answered 304 are the hot path.
const memo = new WeakMap<FeedEntry, Answers>();

/** `"abc"` -> `"abc-gz"`: the coding's tag, still strong and quoted. */
function tagFor(etag: string, coding: Coding): string {
  return coding === "identity" ? etag : `${etag.slice(0, -1)}${SUFFIX[coding]}"`;
}

function answersFor(entry: FeedEntry, format: FeedFormat): Answers {
  let a = memo.get(entry);
  if (a?.format === format) return a; // an entry is one format's: the check only guards misuse
  // An entry built before encodings were stored: compressed here, once per entry.
  const packed = entry.gzip && entry.br ? { gzip: entry.gzip, br: entry.br } : compressBody(entry.body);
  const bodies: Record<Coding, Buffer> = { identity: entry.body, gzip: packed.gzip, br: packed.br };
  const variants = {} as Record<Coding, Variant>;
  const tags = new Set<string>();
  for (const coding of CODINGS) {
    const etag = tagFor(entry.etag, coding);
    tags.add(etag).add(`W/${etag}`);
    const validators: Record<string, string> = {
      etag,
      "last-modified": httpDate(entry.lastModified),
      "cache-control": `public, max-age=${FEED_MAX_AGE_S}`,
      vary: "Accept-Encoding",
      "x-content-type-options": "nosniff",
      ...(format === "json" ? CORS : {}),
    };
    const body = bodies[coding];
    variants[coding] = {
      etag,
      ok: {
        status: 200,
        headers: {
          ...validators,
          "content-type": `${FORMAT_TYPE[format]}; charset=utf-8`,
          ...(coding === "identity" ? {} : { "content-encoding": coding }),
          "content-length": String(body.length),
        },
        body,
      },
      notModified: { status: 304, headers: validators },
    };
  }
  a = { format, variants, tags };
  memo.set(entry, a);
  return a;
}

// Accept-Encoding values repeat (each feed reader sends the same one every time): negotiated once each.
const negotiated = new Map<string, Coding>();
const NEGOTIATED_MAX = 256;

/**
 * The coding to answer in: brotli, else gzip, else identity, among those the request accepts
 * (q > 0; `*` covers codings not named; identity is acceptable unless refused). No header: identity.
 */
export function negotiate(acceptEncoding: string | undefined): Coding {
  if (acceptEncoding === undefined || acceptEncoding === "") return "identity";
  let c = negotiated.get(acceptEncoding);
  if (c !== undefined) return c;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.slice(0, 1024).split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    const qp = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    const value = qp === undefined ? 1 : Number(qp);
    q.set(name.trim() === "x-gzip" ? "gzip" : name.trim(), Number.isFinite(value) ? value : 0);
  }
  const star = q.get("*");
  const accepts = (name: string) => (q.get(name) ?? (name === "identity" ? (star ?? 1) : (star ?? 0))) > 0;
  c = accepts("br") ? "br" : accepts("gzip") ? "gzip" : "identity";
  if (negotiated.size >= NEGOTIATED_MAX) negotiated.clear();
  negotiated.set(acceptEncoding, c);
  return c;
}

/** The answer to a GET or HEAD of `entry` (a feed in `format`) with these request headers. */
export function feedAnswer(entry: FeedEntry, format: FeedFormat, headers: IncomingHttpHeaders): FeedAnswer {
  const a = answersFor(entry, format);
  const v = a.variants[negotiate(headers["accept-encoding"])];
  const inm = headers["if-none-match"];
  if (inm !== undefined) {
    if (inm === v.etag || a.tags.has(inm)) return v.notModified; // what nearly every poll sends: a tag it was given
    return CODINGS.some((c) =>
      notModified({ "if-none-match": inm }, { etag: a.variants[c].etag, lastModified: entry.lastModified }),
    )
      ? v.notModified
      : v.ok;
  }
  return notModified(headers as { "if-modified-since"?: string }, entry) ? v.notModified : v.ok;
}
