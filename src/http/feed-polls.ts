// Feed polls answered before Fastify routes them. Feed readers poll a few URLs all day and are
// mostly answered 304; Fastify's request pipeline (routing, request and reply objects, hooks)
// cost more than the answer itself, and held the poll rate to about half of what a bare Node
// server reaches. So the HTTP server looks at each request first, and answers it here when it is
// a GET of a feed file whose built entry this process already holds in memory and trusts
// (FeedMemo.peek); anything else, including the first read of a feed, goes on to Fastify.
//
// This is a cache in front of the route, never a second implementation: an entry is in memory
// only because the route read it from Redis, the answer comes from the same feedAnswer(), and
// the request is timed into the same herald_http_request_duration_seconds series, under the
// route's own pattern. Nothing else Fastify does applies to these URLs (no hooks, no body, no
// logging), which app.ts keeps true.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FeedKey } from "../vocabulary.ts";
import { FACET_KINDS } from "../vocabulary.ts";
import { FORMAT_FILE, formatOfFile } from "../feeds/keys.ts";
import type { FeedMemo } from "../feeds/memo.ts";
import type { RequestDurations } from "./durations.ts";
import { feedAnswer } from "./feed-answer.ts";

/** The route patterns in feeds.ts, as the duration series label them. */
export const FEED_ROUTES = { all: "/feeds/:file", facet: "/feeds/:kind/:value/:file" } as const;

// Only plain spellings: a percent-escape, a doubled slash or anything unusual goes to the router,
// which knows how to decode it. The query string is ignored, as the router ignores it. Kinds and
// file names come from keys.ts, the one place that maps feeds to paths.
const literal = (s: string) => s.replace(/[.]/g, "\\.");
const FEED_PATH = new RegExp(
  `^/feeds/(?:(${FACET_KINDS.join("|")})/([a-z0-9-]+)/)?(${Object.values(FORMAT_FILE).map(literal).join("|")})(?:\\?|$)`,
);

/** Answers the request and returns true, or returns false and leaves it untouched. */
export type EarlyAnswer = (req: IncomingMessage, res: ServerResponse) => boolean;

export function feedPolls(memo: FeedMemo, durations: RequestDurations): EarlyAnswer {
  return (req, res) => {
    if (req.method !== "GET") return false;
    const url = req.url;
    if (url === undefined || !url.startsWith("/feeds/")) return false;
    const m = FEED_PATH.exec(url);
    if (!m) return false;
    const started = performance.now();
    const key: FeedKey = m[1] ? `${m[1]}/${m[2]}` : "all";
    const format = formatOfFile(m[3]!)!;
    const entry = memo.peek(key, format);
    if (!entry) return false;
    const answer = feedAnswer(entry, format, req.headers);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
    durations.observe(
      "GET",
      m[1] ? FEED_ROUTES.facet : FEED_ROUTES.all,
      answer.status,
      (performance.now() - started) / 1000,
    );
    return true;
  };
}
