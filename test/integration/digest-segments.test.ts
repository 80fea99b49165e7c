// Stored digest segments: the long pieces of assembled HTML (the layout, each release's rows) and
// the pieces of the text (intro, headings, each release's lines) are stored once by hash for every
// segment that holds them, a segment reads back as exactly the
// message that was rendered (in another process: nothing from this one's caches), and a
// segment whose piece is gone reads as expired (null) rather than as a mail with a hole in it.
import { afterEach, describe, expect, it } from "vitest";
import { loadSegment, SEGMENT_KEEP_S, saveSegment } from "../../src/mail/segments.ts";
import { defaultTaxonomy } from "../../src/releases/taxonomy.ts";
import { personalise } from "../../src/templates/personalise.ts";
import { type ReleaseItem, renderDigest } from "../../src/templates/messages.ts";
import type { Brand } from "../../src/templates/render.ts";
import { type TestRuntime, testRuntime } from "../helpers/runtime.ts";

const brand: Brand = {
  orgName: "IOM",
  taxonomy: defaultTaxonomy(),
  color: "#0033a0",
  publicUrl: "https://news.example.org",
};
const items: ReleaseItem[] = Array.from({ length: 12 }, (_, i) => ({
  id: `seg-${i}`,
  title: `Release ${i} & more`,
  summary: `Summary ${i}`,
  dateline: "Djibouti",
  publishedAt: new Date(Date.UTC(2026, 10, 20, i)).toISOString(),
  url: "https://www.iom.example/",
  topics: [["health", "shelter"][i % 2]!],
  regions: [],
}));
const reader = {
  name: "Ana",
  language: "en" as const,
  timezone: "Asia/Tokyo",
  unsubscribeUrl: "https://news.example.org/u?t=1",
  preferencesUrl: "https://news.example.org/p?t=1",
};

let rt: TestRuntime | undefined;
afterEach(async () => {
  await rt?.destroy();
  rt = undefined;
});

describe("stored digest segments", () => {
  it("share their pieces, read back as rendered, and read as expired when a piece is gone", async () => {
    rt = await testRuntime({ label: "segpieces" });
    const a = await renderDigest(brand, "en", "daily", items.slice(0, 10));
    const b = await renderDigest(brand, "en", "daily", items.slice(2, 12));
    await saveSegment(rt, "daily-x", "en-a", { kind: "digest", language: "en", cursor: 1, message: a });
    await saveSegment(rt, "daily-x", "en-b", { kind: "digest", language: "en", cursor: 1, message: b });
    const pieceKeys = await rt.redis.keys(rt.key("piece", "*"));
    // Each long piece once (the layout's, and the rows and lines of 12 releases), although the two
    // segments hold 20 releases' rows and lines.
    const long = [
      ...[...a.parts!, ...b.parts!].filter((p) => p.length >= 512),
      ...[...a.textParts!, ...b.textParts!].filter((p) => p.length >= 64),
    ];
    expect(a.textParts!.join("")).toBe(a.text);
    expect(pieceKeys.length).toBe(new Set(long).size);
    expect(pieceKeys.length).toBeLessThan(long.length - 20);
    const segmentBytes = (await rt.redis.strlen(rt.key("segment", "daily-x", "en-a"))) as number;
    expect(segmentBytes).toBeLessThan(a.html.length / 3);
    // Nor are the text's longer pieces in the segment's own JSON, only their hashes.
    const stored = (await rt.redis.get(rt.key("segment", "daily-x", "en-a")))!;
    const longText = a.textParts!.filter((p) => p.length >= 64);
    expect(longText.length).toBeGreaterThan(5);
    for (const p of longText) expect(stored).not.toContain(JSON.stringify(p).slice(1, -1));
    for (const k of pieceKeys) expect(await rt.redis.ttl(k)).toBeGreaterThan(SEGMENT_KEEP_S); // a piece outlives every segment naming it;

    const job = (segment: string) => ({ edition: "daily-x", kind: "digest" as const, segment, subscriberIds: [] });
    const back = await loadSegment(rt, job("en-a"));
    expect(back?.message.html).toBe(a.html);
    expect(back?.message.text).toBe(a.text);
    expect(personalise(back!.message, reader)).toEqual(personalise(a, reader));

    // A piece gone from Redis (never read by this process: another brand colour, other pieces)
    // makes the segment read as expired, never as a mail with a hole in it.
    const c = await renderDigest({ ...brand, color: "#aa0000" }, "en", "daily", items.slice(0, 3));
    await saveSegment(rt, "daily-x", "en-c", { kind: "digest", language: "en", cursor: 1, message: c });
    const cKeys = (await rt.redis.keys(rt.key("piece", "*"))).filter((k) => !pieceKeys.includes(k));
    expect(cKeys.length).toBeGreaterThan(0);
    await rt.redis.del(cKeys[0]!);
    expect(await loadSegment(rt, job("en-c"))).toBeNull();
  });
});
