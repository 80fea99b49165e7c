// Reading built feeds for HTTP, from memory when possible. Feed readers poll the same few URLs
// all day; answering each poll with a Redis round trip would cost more than the answer. So each
// web process keeps the last entry it read per feed and format, and drops it when a build
// announces a change on the `feed-changed` channel (cache.ts). Trust is bounded: while the
// subscription is down nothing is trusted, and an entry is re-read after TRUST_MS anyway, so a
// lost message can delay a change by at most that long.
import type { Redis } from "ioredis";
import type { Clock } from "../clock.ts";
import type { FeedKey } from "../vocabulary.ts";
import { createRedis, type RedisTarget } from "../redis/connection.ts";
import type { FeedCache, FeedEntry } from "./cache.ts";
import type { FeedFormat } from "./keys.ts";

export const TRUST_MS = 5_000;
const MAX_FEEDS = 1_000;

interface Memo extends FeedEntry {
  readAt: number;
}

/** The web process's memory of built feeds (the HTTP side of cache.ts); named apart from feed-reader apps and from readers (subscribers). */
export class FeedMemo {
  /** Per feed, the last entry read per format. */
  private readonly memo = new Map<FeedKey, Partial<Record<FeedFormat, Memo>>>();
  /** Per feed: bumped on every change message, so a read that raced a change is not kept. */
  private readonly epochs = new Map<FeedKey, number>();
  private subscriber: Redis | undefined;
  private live = false;

  constructor(
    private readonly cache: FeedCache,
    private readonly clock: Clock,
  ) {}

  /** Subscribes to change messages; until the subscription is confirmed every read goes to Redis. */
  listen(target: RedisTarget): void {
    const sub = createRedis(target, "worker", "herald-feed-reader");
    this.subscriber = sub;
    const distrust = () => {
      this.live = false;
      this.memo.clear();
    };
    const subscribe = () =>
      sub.subscribe(this.cache.channel).then(() => {
        this.memo.clear(); // anything read before the subscription may have missed a message
        this.live = true;
      }, distrust);
    sub.on("error", () => {}); // ioredis reconnects by itself; meanwhile nothing is trusted
    sub.on("close", distrust);
    sub.on("ready", () => {
      if (!this.live) void subscribe(); // after a reconnect (SUBSCRIBE twice is harmless)
    });
    sub.on("message", (_channel: string, feed: string) => this.forget(feed));
    void subscribe();
  }

  async close(): Promise<void> {
    this.live = false;
    this.subscriber?.removeAllListeners("close");
    // A subscriber has nothing to flush: drop it (QUIT would wait for a Redis that may be gone).
    this.subscriber?.disconnect();
  }

  forget(feed: FeedKey): void {
    this.epochs.set(feed, (this.epochs.get(feed) ?? 0) + 1);
    this.memo.delete(feed);
  }

  /** The entry held in memory, if it can still be trusted; no Redis, no promise. */
  peek(feed: FeedKey, format: FeedFormat): FeedEntry | undefined {
    const hit = this.memo.get(feed)?.[format];
    if (!hit || !this.live) return undefined;
    const age = this.clock.now() - hit.readAt;
    return age >= 0 && age < TRUST_MS ? hit : undefined;
  }

  async get(feed: FeedKey, format: FeedFormat): Promise<FeedEntry | null> {
    const hit = this.peek(feed, format);
    if (hit) return hit;
    const now = this.clock.now();
    const epoch = this.epochs.get(feed) ?? 0;
    const entry = await this.cache.entry(feed, format);
    if (entry && this.live && (this.epochs.get(feed) ?? 0) === epoch) {
      let formats = this.memo.get(feed);
      if (!formats) {
        if (this.memo.size >= MAX_FEEDS) this.memo.delete(this.memo.keys().next().value!);
        formats = {};
        this.memo.set(feed, formats);
      }
      formats[format] = { ...entry, readAt: now };
    }
    return entry;
  }
}
