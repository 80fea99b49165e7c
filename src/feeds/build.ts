// Building one feed: read its newest public releases once, render the three formats, keep
// what changed. Unchanged input (same releases, same config) renders nothing and changes
// nothing, not even Last-Modified, so `herald feeds rebuild` with nothing new still lets
// readers get 304s.
import type { FeedKey } from "../vocabulary.ts";
import type { Release } from "../releases/model.ts";
import { withPublicOriginals } from "../releases/translations.ts";
import { oncePerRuntime, type Runtime } from "../runtime.ts";
import { renderAtom } from "./atom.ts";
import { compressBody, etagOf, FeedCache, type FeedWrite, hashOf } from "./cache.ts";
import { type FeedMeta, feedMeta } from "./item.ts";
import { renderJsonFeed } from "./json-feed.ts";
import { type FeedFormat, FORMATS } from "./keys.ts";
import { renderRss } from "./rss.ts";

export type Renderer = (meta: FeedMeta, releases: Release[], now: number) => string;

export const RENDERERS: Record<FeedFormat, Renderer> = { rss: renderRss, atom: renderAtom, json: renderJsonFeed };

/**
 * Part of every input hash: bump it when a renderer's output changes, so the first build
 * after an upgrade (or `herald feeds rebuild`) re-renders feeds whose releases did not change.
 */
export const RENDER_VERSION = 2;

export interface BuildResult {
  feed: FeedKey;
  items: number;
  /** Formats whose body changed (and was written). */
  changed: FeedFormat[];
  /** True when a later build of the same feed had already written: nothing was written. */
  superseded: boolean;
}

/** The runtime's one FeedCache (the builders write it, the HTTP memo reads it). */
export const feedCache = oncePerRuntime((rt: Pick<Runtime, "redis" | "key">) => new FeedCache(rt.redis, rt.key));

/** What building a feed uses of the runtime: the releases and vocabulary it reads, the cache it writes. */
export type FeedBuildDeps = Pick<Runtime, "releases" | "taxonomy" | "config" | "clock" | "redis" | "key">;

export async function buildFeed(rt: FeedBuildDeps, feed: FeedKey): Promise<BuildResult> {
  const cache = feedCache(rt);
  const gen = await cache.nextGeneration(feed); // before reading: see cache.ts
  // A translation of a still-embargoed original must not name it (translations.ts).
  const releases = await withPublicOriginals(rt.releases, await rt.releases.newest(feed, rt.config.feedSize));
  const meta = feedMeta(rt.config, feed, releases, await rt.taxonomy.current());
  const input = hashOf(JSON.stringify([RENDER_VERSION, meta, releases]));
  const built = await cache.inputs(feed);
  const now = rt.clock.now();
  const changed: Partial<Record<FeedFormat, FeedWrite>> = {};
  for (const format of FORMATS) {
    if (built[format] === input) continue;
    const body = RENDERERS[format](meta, releases, now);
    changed[format] = { body, ...compressBody(body), etag: etagOf(body), lastModified: now, input };
  }
  const written = await cache.write(feed, gen, changed);
  return {
    feed,
    items: releases.length,
    changed: written ? (Object.keys(changed) as FeedFormat[]) : [],
    superseded: !written,
  };
}
