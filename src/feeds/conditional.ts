// HTTP conditional requests (RFC 9110 §13): If-None-Match wins over If-Modified-Since, and
// compares weakly (a W/ prefix from a proxy still matches); Last-Modified has one-second
// resolution, so the stored milliseconds are floored before comparing.
import type { FeedEntry } from "./cache.ts";

export function notModified(
  headers: { "if-none-match"?: string; "if-modified-since"?: string },
  head: Pick<FeedEntry, "etag" | "lastModified">,
): boolean {
  const inm = headers["if-none-match"];
  if (inm !== undefined) {
    if (inm === head.etag) return true; // what nearly every poll sends: the tag it was given
    if (inm.trim() === "*") return true;
    const ours = opaque(head.etag);
    return inm.split(",").some((tag) => opaque(tag) === ours);
  }
  const ims = headers["if-modified-since"];
  if (ims !== undefined) {
    const since = Date.parse(ims);
    return !Number.isNaN(since) && Math.floor(head.lastModified / 1000) * 1000 <= since;
  }
  return false;
}

function opaque(tag: string): string {
  return tag.trim().replace(/^W\//, "");
}

/** The IMF-fixdate form HTTP uses: "Sat, 28 Nov 2026 09:00:00 GMT". */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
