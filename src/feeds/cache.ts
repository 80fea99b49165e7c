// Built feed bodies in Redis, one hash per feed and format:
//   {p}:feed:{feedKey}:{format}   body, etag (strong, quoted), lastModified (ms), gen
//   {p}:feed:{feedKey}:gen        counter: one number per build, to order concurrent builds
// A build takes a number before it reads the releases and writes only if no later build has
// written: two rebuilds of one feed running at once can never leave the older state behind.
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { FeedKey } from "../jobs/queues.ts";
import { type FeedFormat, FORMATS } from "./keys.ts";

export interface FeedHead {
  etag: string;
  lastModified: number;
}

export interface FeedEntry extends FeedHead {
  body: string;
}

const WRITE = `
local gen = tonumber(ARGV[1])
local wrote = 0
for i, key in ipairs(KEYS) do
  local have = tonumber(redis.call('HGET', key, 'gen') or '0')
  if have >= gen then return -1 end
end
for i, key in ipairs(KEYS) do
  local body, etag, lm = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  if etag ~= '' then
    redis.call('HSET', key, 'body', body, 'etag', etag, 'lastModified', lm, 'gen', gen)
    wrote = wrote + 1
  else
    redis.call('HSET', key, 'gen', gen)
  end
end
return wrote
`;

/** A strong validator: the same bytes always give the same ETag, on any machine. */
export function etagOf(body: string): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}

export class FeedCache {
  constructor(
    private readonly redis: Redis,
    private readonly key: (...parts: string[]) => string,
  ) {}

  entryKey(feed: FeedKey, format: FeedFormat): string {
    return this.key("feed", feed, format);
  }

  /** ETag and Last-Modified without the body: what a conditional request needs. */
  async head(feed: FeedKey, format: FeedFormat): Promise<FeedHead | null> {
    const [etag, lm] = await this.redis.hmget(this.entryKey(feed, format), "etag", "lastModified");
    return etag && lm ? { etag, lastModified: Number(lm) } : null;
  }

  async heads(feed: FeedKey): Promise<Record<FeedFormat, FeedHead | null>> {
    const entries = await Promise.all(FORMATS.map(async (f) => [f, await this.head(feed, f)] as const));
    return Object.fromEntries(entries) as Record<FeedFormat, FeedHead | null>;
  }

  /** The body with the ETag it belongs to (one read, so they always match). */
  async entry(feed: FeedKey, format: FeedFormat): Promise<{ etag: string; lastModified: number; body: Buffer } | null> {
    const [body, etag, lm] = await this.redis.hmgetBuffer(this.entryKey(feed, format), "body", "etag", "lastModified");
    return body && etag && lm ? { body, etag: etag.toString(), lastModified: Number(lm.toString()) } : null;
  }

  /** A number larger than any earlier build's of this feed. */
  async nextGeneration(feed: FeedKey): Promise<number> {
    return this.redis.incr(this.key("feed", feed, "gen"));
  }

  /**
   * Writes the changed formats (others only record the generation). Returns false, writing
   * nothing, when a build with a later generation has already written this feed.
   */
  async write(feed: FeedKey, gen: number, changed: Partial<Record<FeedFormat, FeedEntry>>): Promise<boolean> {
    const args: string[] = [String(gen)];
    for (const f of FORMATS) {
      const e = changed[f];
      args.push(e?.body ?? "", e?.etag ?? "", e ? String(e.lastModified) : "");
    }
    const keys = FORMATS.map((f) => this.entryKey(feed, f));
    const res = (await this.redis.eval(WRITE, keys.length, ...keys, ...args)) as number;
    return res >= 0;
  }
}
