// Stored digest segments: the long pieces of assembled HTML (the layout, each release's rows) and
// the pieces of the text (intro, headings, each release's lines) are stored once by hash for every
// segment of the edition that holds them, a segment reads back as exactly the message that was
// rendered (in another process: nothing from this one's caches), and a segment whose piece is gone
// reads as expired (null) rather than as a mail with a hole in it. Pieces are the edition's own
// (deleted with its segments, segments.ts fanoutStep); segments stored before that, naming shared
// pieces, still read.
import { createHash } from "node:crypto";
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
  summary: `Summary ${i}: a three-day course for border officials on identifying and referring victims.`,
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
    const pieceKeys = await rt.redis.keys(rt.key("piece", "daily-x", "*"));
    expect(await rt.redis.keys(rt.key("piece", "*"))).toHaveLength(pieceKeys.length); // all the edition's
    // Each long piece once (the layout's, and the rows and lines of 12 releases), although the two
    // segments hold 20 releases' rows and lines.
    const long = [
      ...[...a.parts!, ...b.parts!].filter((p) => p.length >= 512),
      ...[...a.textParts!, ...b.textParts!].filter((p) => p.length >= 64),
    ];
    expect(a.textParts!.join("")).toBe(a.text);
    expect(pieceKeys.length).toBe(new Set(long).size);
    expect(pieceKeys.length).toBeLessThan(long.length - 20);
    const pieces = new Set(await Promise.all(pieceKeys.map((k) => rt!.redis.get(k))));
    for (const p of long) expect(pieces.has(p)).toBe(true);
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

    // Another edition with the same message stores pieces of its own: deleting one edition's
    // pieces never takes another's.
    await saveSegment(rt, "daily-y", "en-a", { kind: "digest", language: "en", cursor: 1, message: a });
    expect((await rt.redis.keys(rt.key("piece", "daily-y", "*"))).length).toBeGreaterThan(0);
    await rt.redis.del(...pieceKeys);
    const other = await loadSegment(rt, { ...job("en-a"), edition: "daily-y" });
    expect(other?.message.html).toBe(a.html);
  });

  it("a segment stored before pieces were the edition's reads its shared pieces", async () => {
    rt = await testRuntime({ label: "segshared" });
    const m = await renderDigest({ ...brand, color: "#00aa00" }, "en", "daily", items.slice(0, 4));
    // As an older Herald stored it: the whole text, long HTML parts as {h: sha1 hex} of {p}:piece:{sha1}.
    const shared = new Map<string, string>();
    const parts = m.parts!.map((p) => {
      if (p.length < 512) return p;
      const h = createHash("sha1").update(p).digest("hex");
      shared.set(rt!.key("piece", h), p);
      return { h };
    });
    await rt.redis.mset(shared);
    const message = { subject: m.subject, text: m.text, nonce: m.nonce, dates: m.dates, parts };
    await rt.redis.set(
      rt.key("segment", "daily-old", "en-o"),
      JSON.stringify({ kind: "digest", language: "en", cursor: 1, message }),
    );
    const back = await loadSegment(rt, { edition: "daily-old", kind: "digest", segment: "en-o", subscriberIds: [] });
    expect(back?.message.html).toBe(m.html);
    expect(back?.message.text).toBe(m.text);
  });
});
