// How a request for a built feed is answered: 200 with the body, or 304 when the reader's copy
// matches its validators. The one function behind both ways a feed is served (the Fastify route
// in feeds.ts and the early answer for polls in feed-polls.ts), so the two cannot drift apart.
import type { IncomingHttpHeaders } from "node:http";
import type { FeedEntry } from "../feeds/cache.ts";
import { httpDate, notModified } from "../feeds/conditional.ts";
import { type FeedFormat, FORMAT_TYPE } from "../feeds/keys.ts";

/** Readers may reuse a copy this long without asking; after that a 304 is nearly free. */
export const FEED_MAX_AGE_S = 60;

export interface FeedAnswer {
  status: 200 | 304;
  headers: Readonly<Record<string, string>>;
  /** Only with 200. */
  body?: Buffer;
}

interface Answers {
  ok: FeedAnswer;
  notModified: FeedAnswer;
}

// Formatted once per built entry: the reader hands out the same entry object until the feed
// changes, and polls answered 304 are the hot path.
const memo = new WeakMap<FeedEntry, Answers>();

function answersFor(entry: FeedEntry, format: FeedFormat): Answers {
  let a = memo.get(entry);
  if (!a) {
    const validators = {
      etag: entry.etag,
      "last-modified": httpDate(entry.lastModified),
      "cache-control": `public, max-age=${FEED_MAX_AGE_S}`,
      "x-content-type-options": "nosniff",
    };
    a = {
      ok: {
        status: 200,
        headers: { ...validators, "content-type": `${FORMAT_TYPE[format]}; charset=utf-8`, "content-length": String(entry.body.length) },
        body: entry.body,
      },
      notModified: { status: 304, headers: validators },
    };
    memo.set(entry, a);
  }
  return a;
}

/** The answer to a GET or HEAD of `entry` (a feed in `format`) with these request headers. */
export function feedAnswer(entry: FeedEntry, format: FeedFormat, headers: IncomingHttpHeaders): FeedAnswer {
  const a = answersFor(entry, format);
  return notModified(headers as { "if-none-match"?: string; "if-modified-since"?: string }, entry) ? a.notModified : a.ok;
}
