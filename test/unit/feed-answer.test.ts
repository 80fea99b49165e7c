// Content negotiation and validators of a feed answer (the function both the route and the early
// poll path use). The HTTP behaviour end to end is in integration/feeds-http.test.ts.
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { etagOf } from "../../src/feeds/cache.ts";
import { feedAnswer, negotiate } from "../../src/http/feed-answer.ts";

describe("negotiate", () => {
  it.each([
    [undefined, "identity"],
    ["", "identity"],
    ["gzip", "gzip"],
    ["x-gzip", "gzip"],
    ["GZIP, Deflate", "gzip"],
    ["gzip, deflate, br", "br"],
    ["br;q=0, gzip", "gzip"],
    ["br;q=0.1, gzip;q=0.9", "br"], // both acceptable: the smaller coding wins
    ["gzip;q=0", "identity"],
    ["deflate", "identity"],
    ["*", "br"],
    ["*;q=0, gzip", "gzip"],
    ["identity", "identity"],
  ])("%j -> %s", (header, coding) => {
    expect(negotiate(header)).toBe(coding);
  });
});

describe("feedAnswer", () => {
  const body = Buffer.from(`<feed>${"<entry>same words again and again</entry>".repeat(200)}</feed>`);
  const etag = etagOf(body.toString());

  it("an entry stored before codings were: compressed once in the web process, same answers after", () => {
    const entry = { body, etag, lastModified: Date.parse("2026-11-28T10:00:00Z") };
    const gz = feedAnswer(entry, "atom", { "accept-encoding": "gzip" });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(gz.body!).equals(body)).toBe(true);
    expect(feedAnswer(entry, "atom", { "accept-encoding": "gzip" }).body).toBe(gz.body); // the same buffer: not compressed again
    const br = feedAnswer(entry, "atom", { "accept-encoding": "br" });
    expect(brotliDecompressSync(br.body!).equals(body)).toBe(true);
    expect([gz.headers.etag, br.headers.etag]).toEqual([`${etag.slice(0, -1)}-gz"`, `${etag.slice(0, -1)}-br"`]);
  });

  it("If-None-Match wins over If-Modified-Since; a tag of another body never matches", () => {
    const entry = { body, etag, lastModified: Date.parse("2026-11-28T10:00:00Z") };
    const ims = "Sat, 28 Nov 2026 10:00:00 GMT";
    expect(feedAnswer(entry, "json", { "if-modified-since": ims, "accept-encoding": "gzip" }).status).toBe(304);
    expect(
      feedAnswer(entry, "json", { "if-none-match": '"other-gz"', "if-modified-since": ims, "accept-encoding": "gzip" })
        .status,
    ).toBe(200);
    expect(feedAnswer(entry, "json", { "if-none-match": "*" }).status).toBe(304);
    const ok = feedAnswer(entry, "json", {});
    expect(ok.headers["access-control-allow-origin"]).toBe("*");
    expect(feedAnswer(entry, "rss", {}).headers["access-control-allow-origin"]).toBeUndefined();
  });
});
