// Reader shards (src/redis/shards.ts): one shard keeps the names Herald always used; more shards
// give each bucket its own hash tag; a reader's shard depends on its id alone, in every process.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.ts";
import { Shards } from "../../src/redis/shards.ts";
import { keyPatterns } from "../../src/runtime.ts";
import { subscriberId } from "../../src/subscribers/store.ts";

describe("reader shards", () => {
  it("one shard: today's key names, whatever the id", () => {
    const one = new Shards("herald");
    expect(one.of("s123")).toBe(0);
    expect(one.keyOf("s123", "sub", "s123")).toBe("herald:sub:s123");
    expect(new Shards("{herald}").keyOf("x", "subs")).toBe("{herald}:subs");
  });

  it("several: a hash tag per shard, the reader's shard from its id (so from its address alone)", () => {
    const s = new Shards("{herald}", 16);
    const id = subscriberId("Ana@Example.org");
    expect(subscriberId(" ana@example.ORG ")).toBe(id);
    const n = s.of(id);
    expect(n).toBeGreaterThanOrEqual(0);
    expect(n).toBeLessThan(16);
    expect(s.keyOf(id, "sub", id)).toBe(`{herald:s${String(n).padStart(2, "0")}}:sub:${id}`);
    // Stable: FNV-1a of the id, the same in every process and release (a change would strand readers).
    expect(new Shards("{herald}", 16).of("s0123456789abcdef0123")).toBe(s.of("s0123456789abcdef0123"));
    // The published FNV-1a test vectors: "a" 0xe40c292c, "b" 0xe70c2de5, "foobar" 0xbf9cf968.
    expect([s.of("a"), s.of("b"), s.of("foobar")]).toEqual([0xe40c292c % 16, 0xe70c2de5 % 16, 0xbf9cf968 % 16]);
    expect(new Shards("p", 10).of("foobar")).toBe(0xbf9cf968 % 10);
    // Spread: 1,600 addresses over 16 shards, none empty or more than twice its share.
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 1600; i++) counts[s.of(subscriberId(`reader${i}@example.org`))]++;
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeLessThan(200);
  });

  it("groups ids by shard and puts per-shard answers back in order", async () => {
    const s = new Shards("p", 4);
    const ids = Array.from({ length: 40 }, (_, i) => `id${i}`);
    const calls: number[] = [];
    const out = await s.map(ids, async (shard, page) => {
      calls.push(shard);
      expect(page.every((id) => s.of(id) === shard)).toBe(true);
      return page.map((id) => `${id}@${shard}`);
    });
    expect(out).toEqual(ids.map((id) => `${id}@${s.of(id)}`));
    expect(new Set(calls).size).toBe(calls.length);
    const sorted = s.sorted(ids);
    expect(sorted.map((id) => s.of(id))).toEqual(sorted.map((id) => s.of(id)).sort((a, b) => a - b));
    expect(new Shards("p").sorted(["b", "a", "c"])).toEqual(["a", "b", "c"]);
  });

  it("refuses a number of shards below one", () => {
    expect(() => new Shards("p", 0)).toThrow(/at least 1/);
  });

  it("SCAN patterns include the shards' hash tags", () => {
    expect(keyPatterns("{herald}", true, 16)).toEqual(["{herald}:*", "{herald:q:*", "{herald:s[0-9][0-9]}:*"]);
    expect(keyPatterns("h", false, 200)).toEqual(["h:*", "{h:s[0-9][0-9]}:*", "{h:s[0-9][0-9][0-9]}:*"]);
    expect(new Shards("h", 200).key(150, "x")).toBe("{h:s150}:x");
    expect(keyPatterns("herald", false, 1)).toEqual(["herald:*"]);
  });

  it("REDIS_SHARDS: 1 to 256; unset leaves the choice to the data (runtime.ts resolveShards)", () => {
    expect(loadConfig({}).redisShards).toBeUndefined();
    expect(loadConfig({ REDIS_SHARDS: "16" }).redisShards).toBe(16);
    expect(() => loadConfig({ REDIS_SHARDS: "0" })).toThrow(/REDIS_SHARDS="0" is not allowed: at least 1/);
    expect(() => loadConfig({ REDIS_SHARDS: "many" })).toThrow(/REDIS_SHARDS="many" is not allowed: a whole number/);
  });
});
