// Feeds over HTTP, and the HTML pages feed items link to. A request never builds a feed: it
// serves the bytes the `feeds` workers stored in Redis, through a FeedReader that keeps them
// in memory until a build announces a change (feeds/reader.ts), so a poll answered 304 costs
// no Redis round trip.
//
// Cold cache: a feed that exists (global, or a topic, region or language ever published) but
// has not been built yet answers 503 with Retry-After and reason "feed-not-built"; the next
// release event builds it, or ops run `herald feeds rebuild`. Unknown feeds answer 404.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { feedCache } from "../feeds/build.ts";
import type { FeedEntry } from "../feeds/cache.ts";
import { httpDate, notModified } from "../feeds/conditional.ts";
import { type FeedFormat, FORMAT_TYPE, formatOfFile, knownFeeds, parseFeedKey } from "../feeds/keys.ts";
import { PAGE_CSP, renderFeedsPage, renderGonePage, renderReleasePage } from "../feeds/pages.ts";
import { FeedReader } from "../feeds/reader.ts";
import type { FeedKey } from "../jobs/queues.ts";
import { SLUG_RE } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";

/** Readers may reuse a copy this long without asking; after that a 304 is nearly free. */
export const FEED_MAX_AGE_S = 60;
const COLD_RETRY_AFTER_S = 30;

export const feedRoutes: FastifyPluginAsync<{ rt: Runtime }> = async (app, { rt }) => {
  const reader = new FeedReader(feedCache(rt), rt.clock);
  reader.listen(rt.redisUrl);
  app.addHook("onClose", () => reader.close());

  async function serve(req: FastifyRequest, reply: FastifyReply, key: FeedKey, format: FeedFormat | undefined) {
    const parsed = parseFeedKey(key);
    if (!format || !parsed) return reply.code(404).send({ error: `no such feed: ${req.url.split("?")[0]}`, issues: [] });
    const entry = await reader.get(key, format);
    if (!entry) return cold(reply, key, parsed);
    reply.headers(headersOf(entry));
    if (notModified(req.headers as Record<string, string>, entry)) return reply.code(304).send();
    return reply.type(`${FORMAT_TYPE[format]}; charset=utf-8`).send(entry.body);
  }

  // The validators of one built entry, formatted once: polls answered 304 are the hot path.
  const headerMemo = new WeakMap<FeedEntry, Record<string, string>>();
  function headersOf(entry: FeedEntry): Record<string, string> {
    let h = headerMemo.get(entry);
    if (!h) {
      h = {
        etag: entry.etag,
        "last-modified": httpDate(entry.lastModified),
        "cache-control": `public, max-age=${FEED_MAX_AGE_S}`,
        "x-content-type-options": "nosniff",
      };
      headerMemo.set(entry, h);
    }
    return h;
  }

  async function cold(reply: FastifyReply, key: FeedKey, parsed: NonNullable<ReturnType<typeof parseFeedKey>>) {
    const known = parsed.kind === "all" || (await rt.releases.hasFacet(parsed.kind, parsed.value));
    if (!known) {
      const what = { topics: "topic", regions: "region", languages: "language" }[parsed.kind];
      return reply
        .code(404)
        .send({ error: `no feed for ${what} ${JSON.stringify(parsed.value)}: no release has been published with it`, issues: [] });
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

  app.get<{ Params: { file: string } }>("/feeds/:file", (req, reply) => serve(req, reply, "all", formatOfFile(req.params.file)));
  app.get<{ Params: { kind: string; value: string; file: string } }>("/feeds/:kind/:value/:file", (req, reply) =>
    serve(req, reply, `${req.params.kind}/${req.params.value}`, formatOfFile(req.params.file)),
  );

  app.get("/feeds", async (_req, reply) => {
    const feeds = await knownFeeds((kind) => rt.releases.facets(kind));
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", `public, max-age=${FEED_MAX_AGE_S}`)
      .header("content-security-policy", PAGE_CSP)
      .header("x-content-type-options", "nosniff")
      .send(renderFeedsPage(rt.config, feeds));
  });

  app.get<{ Params: { id: string } }>("/releases/:id", async (req, reply) => {
    reply
      .type("text/html; charset=utf-8")
      .header("content-security-policy", PAGE_CSP)
      .header("x-content-type-options", "nosniff");
    const { id } = req.params;
    const r = SLUG_RE.test(id) ? await rt.releases.get(id) : null;
    // An embargoed release does not exist yet, as far as the public can tell.
    if (!r || r.status === "embargoed") {
      return reply.code(404).header("cache-control", "no-store").send(renderGonePage(rt.config, 404, "There is no public release at this address."));
    }
    if (r.status === "withdrawn") {
      return reply
        .code(410)
        .header("cache-control", `public, max-age=${FEED_MAX_AGE_S}`)
        .send(renderGonePage(rt.config, 410, "This release was withdrawn and is no longer available."));
    }
    const related = [...(await rt.releases.translations(r.id))];
    if (r.translationOf) {
      const original = await rt.releases.get(r.translationOf);
      if (original) related.unshift(original, ...(await rt.releases.translations(original.id)).filter((t) => t.id !== r.id));
    }
    const translations = [...new Map(related.map((t) => [t.id, t])).values()]
      .filter((t) => t.status === "published" && t.id !== r.id)
      .map((t) => ({ id: t.id, language: t.language, title: t.title }));
    return reply.header("cache-control", `public, max-age=${FEED_MAX_AGE_S}`).send(renderReleasePage(rt.config, r, { translations }));
  });
};
