// Built feed bodies in Redis, one hash per feed and format:
//   {p}:feed:{feedKey}:{format}   body, gzip, br, etag (strong, quoted), lastModified (ms), input, gen
//                                 (gzip and br: the body compressed once at build time, so no poll
//                                 compresses anything)
//   {p}:feed:{feedKey}:gen        counter: one number per build, to order concurrent builds
//   {p}:feed-changed              pub/sub channel: a feed key, after its bodies changed
// `input` is a hash of everything the renderers were given, so a build of unchanged input
// renders nothing and keeps ETag and Last-Modified. A build takes a generation number before
// it reads the releases and writes only if no later build has written: two rebuilds of one
// feed running at once can never leave the older state behind.
import { createHash } from "node:crypto";
import { brotliCompressSync, gzipSync, constants as zlibConstants } from "node:zlib";
import type { Redis } from "ioredis";
import type { FeedKey } from "../vocabulary.ts";
import { execOrThrow } from "../redis/pipeline.ts";
import { type FeedFormat, FORMATS } from "./keys.ts";

export interface FeedEntry {
  etag: string;
  lastModified: number;
  body: Buffer;
  /** The body gzip- and brotli-compressed (absent in entries built before they were stored). */
  gzip?: Buffer;
  br?: Buffer;
}

export interface FeedWrite {
  etag: string;
  lastModified: number;
  body: string;
  /** Written by every build (compressBody); optional so an entry without them still serves. */
  gzip?: Buffer;
  br?: Buffer;
  input: string;
}

/**
 * Both encodings of a body, as stored next to it. gzip at its default level and brotli at quality
 * 5: on a 50-100 kB feed, higher settings save under 1% (brotli 11: ~10%) for 10-100 times the
 * CPU, which every rebuild would pay before the feed becomes visible.
 */
export function compressBody(body: string | Buffer): { gzip: Buffer; br: Buffer } {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  return {
    gzip: gzipSync(bytes),
    br: brotliCompressSync(bytes, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: 5,
        [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }),
  };
}

const WRITE = `
local gen = tonumber(ARGV[1])
local wrote = 0
for i, key in ipairs(KEYS) do
  local have = tonumber(redis.call('HGET', key, 'gen') or '0')
  if have >= gen then return -1 end
end
for i, key in ipairs(KEYS) do
  local o = 6 * i - 2 -- ARGV: gen, channel, feed, then body, etag, lastModified, input, gzip, br per key
  if ARGV[o + 1] ~= '' then
    redis.call('HSET', key, 'body', ARGV[o], 'etag', ARGV[o + 1], 'lastModified', ARGV[o + 2], 'input', ARGV[o + 3], 'gzip', ARGV[o + 4], 'br', ARGV[o + 5], 'gen', gen)
    wrote = wrote + 1
  else
    redis.call('HSET', key, 'gen', gen)
  end
end
if wrote > 0 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return wrote
`;

/** A strong validator: the same bytes always give the same ETag, on any machine. */
export function etagOf(body: string): string {
  return `"${hashOf(body)}"`;
}

export function hashOf(s: string): string {
  return createHash("sha256").update(s).digest("base64url").slice(0, 27);
}

export class FeedCache {
  constructor(
    private readonly redis: Redis,
    private readonly key: (...parts: string[]) => string,
  ) {}

  /** The channel that hears the key of every feed whose bodies changed. */
  get channel(): string {
    return this.key("feed-changed");
  }

  entryKey(feed: FeedKey, format: FeedFormat): string {
    return this.key("feed", feed, format);
  }

  /** Body, ETag and Last-Modified in one read, so they always belong together. */
  async entry(feed: FeedKey, format: FeedFormat): Promise<FeedEntry | null> {
    const [body, etag, lm, gzip, br] = await this.redis.hmgetBuffer(
      this.entryKey(feed, format),
      "body",
      "etag",
      "lastModified",
      "gzip",
      "br",
    );
    if (!body || !etag || !lm) return null;
    return {
      body,
      etag: etag.toString(),
      lastModified: Number(lm.toString()),
      ...(gzip?.length ? { gzip } : {}),
      ...(br?.length ? { br } : {}),
    };
  }

  /** The input hash each format was last built from. */
  async inputs(feed: FeedKey): Promise<Record<FeedFormat, string | null>> {
    const pipeline = this.redis.pipeline();
    for (const f of FORMATS) pipeline.hget(this.entryKey(feed, f), "input");
    const res = await execOrThrow(pipeline);
    return Object.fromEntries(FORMATS.map((f, i) => [f, (res[i] as string | null) ?? null])) as Record<
      FeedFormat,
      string | null
    >;
  }

  /** A number larger than any earlier build's of this feed. */
  async nextGeneration(feed: FeedKey): Promise<number> {
    return this.redis.incr(this.key("feed", feed, "gen"));
  }

  /**
   * Writes the changed formats (others only record the generation) and announces the change
   * on `channel`. Returns false, writing nothing, when a later build already wrote this feed.
   */
  async write(feed: FeedKey, gen: number, changed: Partial<Record<FeedFormat, FeedWrite>>): Promise<boolean> {
    const args: (string | Buffer)[] = [String(gen), this.channel, feed];
    for (const f of FORMATS) {
      const e = changed[f];
      args.push(
        e?.body ?? "",
        e?.etag ?? "",
        e ? String(e.lastModified) : "",
        e?.input ?? "",
        e?.gzip ?? "",
        e?.br ?? "",
      );
    }
    const keys = FORMATS.map((f) => this.entryKey(feed, f));
    const res = (await this.redis.eval(WRITE, keys.length, ...keys, ...args)) as number;
    return res >= 0;
  }
}
