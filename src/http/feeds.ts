// Feeds over HTTP, and the HTML pages feed items link to. A request never builds a feed: it
// serves the bytes the `feeds` workers stored in Redis, through a FeedMemo that keeps them
// in memory until a build announces a change (feeds/memo.ts), so a poll answered 304 costs
// no Redis round trip.
//
// Cold cache: a feed that exists (global, or a topic, region or language ever published) but
// has not been built yet answers 503 with Retry-After and reason "feed-not-built"; the next
// release event builds it, or ops run `herald feeds rebuild`. Unknown feeds answer 404.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { FeedEntry } from "../feeds/cache.ts";
import { type FeedFormat, formatOfFile, knownFeeds, parseFeedKey } from "../feeds/keys.ts";
import { PAGE_CSP, renderFeedsPage, renderGonePage, renderReleasePage } from "./pages/feed-pages.ts";
import type { FeedMemo } from "../feeds/memo.ts";
import type { FeedKey } from "../vocabulary.ts";
import { type Release, SLUG_RE } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";
import { CORS, FEED_MAX_AGE_S, feedAnswer } from "./feed-answer.ts";
import { pickLanguage } from "../i18n/languages.ts";
import { FEED_ROUTES } from "./feed-polls.ts";

const COLD_RETRY_AFTER_S = 30;

/** What the feed routes read: stored releases (cold feeds, pages), the vocabulary, the config. */
type FeedPageDeps = Pick<Runtime, "releases" | "taxonomy" | "config">;

/** `memo` is shared with the early answer for polls (feed-polls.ts); app.ts owns it. */
export const feedRoutes: FastifyPluginAsync<{ rt: FeedPageDeps; memo: FeedMemo }> = async (app, { rt, memo }) => {
  const serve = feedServer(rt, memo);
  app.get<{ Params: { file: string } }>(FEED_ROUTES.all, (req, reply) =>
    serve(req, reply, "all", formatOfFile(req.params.file)),
  );
  app.get<{ Params: { kind: string; value: string; file: string } }>(FEED_ROUTES.facet, (req, reply) =>
    serve(req, reply, `${req.params.kind}/${req.params.value}`, formatOfFile(req.params.file)),
  );
  app.options(FEED_ROUTES.all, preflight);
  app.options(FEED_ROUTES.facet, preflight);
  app.get("/feeds", feedsPage(rt));
  app.get<{ Params: { id: string } }>("/releases/:id", releasePage(rt));
};

/** Answers a feed from the memo (in memory, else Redis); a feed not built yet answers cold(). */
function feedServer(rt: Pick<Runtime, "releases">, memo: FeedMemo) {
  return (
    req: FastifyRequest,
    reply: FastifyReply,
    key: FeedKey,
    format: FeedFormat | undefined,
  ): Promise<unknown> | undefined => {
    const parsed = format && parseFeedKey(key);
    if (!format || !parsed) {
      reply.code(404).send({ error: `no such feed: ${req.url.split("?")[0]}`, issues: [] });
      return;
    }
    const held = memo.peek(key, format);
    if (held) return answer(req, reply, held, format);
    return memo
      .get(key, format)
      .then((entry) => (entry ? answer(req, reply, entry, format) : cold(rt, reply, key, parsed)));
  };
}

function answer(req: FastifyRequest, reply: FastifyReply, entry: FeedEntry, format: FeedFormat): undefined {
  const { status, headers, body } = feedAnswer(entry, format, req.headers);
  reply.code(status).headers(headers).send(body);
  return undefined;
}

async function cold(
  rt: Pick<Runtime, "releases">,
  reply: FastifyReply,
  key: FeedKey,
  parsed: NonNullable<ReturnType<typeof parseFeedKey>>,
): Promise<FastifyReply> {
  const known = parsed.kind === "all" || (await rt.releases.hasFacet(parsed.kind, parsed.value));
  if (!known) {
    const what = { topics: "topic", regions: "region", languages: "language" }[parsed.kind];
    return reply.code(404).send({
      error: `no feed for ${what} ${JSON.stringify(parsed.value)}: no release has been published with it`,
      issues: [],
    });
  }
  return reply
    .code(503)
    .header("retry-after", String(COLD_RETRY_AFTER_S))
    .header("cache-control", "no-store")
    .send({
      error: `the feed ${key} has not been built yet; the workers build it after the next release event, or run \`herald feeds rebuild\``,
      reason: "feed-not-built",
      issues: [],
    });
}

// A browser app that sends its own If-None-Match asks first (CORS preflight): JSON Feed says yes.
function preflight(req: FastifyRequest<{ Params: { file: string } }>, reply: FastifyReply): FastifyReply {
  if (formatOfFile(req.params.file) !== "json")
    return reply.code(404).send({ error: `no route OPTIONS ${req.url.split("?")[0]}`, issues: [] });
  return reply
    .code(204)
    .headers({
      ...CORS,
      "access-control-allow-methods": "GET, HEAD",
      "access-control-allow-headers": "If-None-Match, If-Modified-Since",
      "access-control-max-age": "86400",
    })
    .send();
}

function visitorLanguage(req: FastifyRequest) {
  return pickLanguage((req.query as { lang?: unknown }).lang, undefined, req.headers["accept-language"]);
}

/** GET /feeds: the list of feeds, as a page. */
function feedsPage(rt: FeedPageDeps) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    // Only feeds with something in them now: a topic whose releases were all withdrawn is not listed.
    const feeds = await knownFeeds((kind) => rt.releases.liveFacets(kind));
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", `public, max-age=${FEED_MAX_AGE_S}`)
      .header("vary", "Accept-Language")
      .header("content-security-policy", PAGE_CSP)
      .header("x-content-type-options", "nosniff")
      .send(renderFeedsPage(rt.config, feeds, visitorLanguage(req), await rt.taxonomy.current()));
  };
}

/** GET /releases/:id: a release's page, which feed items link to; 404 unknown or embargoed, 410 withdrawn. */
function releasePage(rt: FeedPageDeps) {
  return async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    reply
      .type("text/html; charset=utf-8")
      .header("content-security-policy", PAGE_CSP)
      .header("x-content-type-options", "nosniff");
    const { id } = req.params;
    const r = SLUG_RE.test(id) ? await rt.releases.get(id) : null;
    // An embargoed release does not exist yet, as far as the public can tell.
    if (!r || r.status === "embargoed") {
      return reply
        .code(404)
        .header("cache-control", "no-store")
        .send(renderGonePage(rt.config, 404, visitorLanguage(req)));
    }
    if (r.status === "withdrawn") {
      return reply
        .code(410)
        .header("cache-control", `public, max-age=${FEED_MAX_AGE_S}`)
        .send(renderGonePage(rt.config, 410, visitorLanguage(req)));
    }
    const translations = await publishedTranslations(rt, r);
    return reply
      .header("cache-control", `public, max-age=${FEED_MAX_AGE_S}`)
      .send(renderReleasePage(rt.config, r, { translations }, await rt.taxonomy.current()));
  };
}

/** The other published versions of `r`'s story: its original and the original's other translations, or its own. */
async function publishedTranslations(rt: Pick<Runtime, "releases">, r: Release) {
  const related = [...(await rt.releases.translations(r.id))];
  if (r.translationOf) {
    const original = await rt.releases.get(r.translationOf);
    if (original)
      related.unshift(original, ...(await rt.releases.translations(original.id)).filter((t) => t.id !== r.id));
  }
  return [...new Map(related.map((t) => [t.id, t])).values()]
    .filter((t) => t.status === "published" && t.id !== r.id)
    .map((t) => ({ id: t.id, language: t.language, title: t.title }));
}
