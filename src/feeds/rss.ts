// RSS 2.0 (https://www.rssboard.org/rss-specification), written by hand like Atom and JSON Feed:
// one pure renderer per format, `(meta, releases, now) => string`, with the shared escaping of
// xml.ts (text escaped, never CDATA, so a `]]>` in a release is just text). The `rss` package was
// dropped: it stamps `new Date()` into <lastBuildDate> (we patched it out with a regex) and cannot
// write a category's domain or the Media RSS image without its custom_elements escape hatch.
// Extensions: content:encoded for the full HTML, atom:link rel=self/hub (WebSub), dc:creator,
// dc:language per item, atom:updated for corrections, media:content for the image.
import type { Release } from "../releases/model.ts";
import { escapeHtml } from "../releases/sanitize.ts";
import { type FeedMeta, feedItems } from "./item.ts";
import { el, empty, xmlAttr } from "./xml.ts";

const NAMESPACES = {
  "xmlns:dc": "http://purl.org/dc/elements/1.1/",
  "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
  "xmlns:atom": "http://www.w3.org/2005/Atom",
  "xmlns:media": "http://search.yahoo.com/mrss/",
};

export function renderRss(meta: FeedMeta, releases: Release[], now: number): string {
  const built = new Date(now).toUTCString();
  const rssAttrs = Object.entries(NAMESPACES)
    .map(([k, v]) => ` ${k}="${xmlAttr(v)}"`)
    .join("");
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', `<rss version="2.0"${rssAttrs}>`, "<channel>"];
  out.push(
    el("title", meta.title),
    el("description", meta.description),
    el("link", meta.homeUrl),
    el("generator", "Herald"),
    el("lastBuildDate", built),
    empty("atom:link", { href: meta.selfUrl.rss, rel: "self", type: "application/rss+xml" }),
    el("pubDate", built),
    el("language", meta.language),
    el("ttl", "5"), // minutes a reader may cache the channel
    ...(meta.hub ? [empty("atom:link", { href: meta.hub, rel: "hub" })] : []), // WebSub 4
  );
  for (const it of feedItems(meta, releases)) {
    out.push("<item>");
    out.push(
      el("title", it.title),
      // description is HTML to readers: the plain-text summary is escaped into it.
      el("description", escapeHtml(it.summary)),
      el("link", it.url),
      // The release page URL, stable across revisions; not a permalink to `link` (which may be the release's own url).
      el("guid", it.id, { isPermaLink: "false" }),
      el("dc:creator", meta.orgName),
      el("pubDate", new Date(it.published).toUTCString()),
      // The domain is the IPTC / GeoNames URI of the concept (FeedCategory.scheme).
      ...it.categories.map((c) => el("category", c.label, { domain: c.scheme })),
      el("content:encoded", it.contentHtml),
      el("atom:updated", it.updated),
      el("dc:language", it.language),
    );
    // The feature image as Media RSS, not <enclosure>: RSS 2.0 requires an enclosure's length in
    // bytes, which Herald does not know (it never fetches the image), and length="0" is false.
    if (it.image) {
      out.push(
        `<media:content url="${xmlAttr(it.image.url)}" type="${xmlAttr(it.image.type)}" medium="image">${el("media:description", it.image.alt, { type: "plain" })}</media:content>`,
      );
    }
    out.push("</item>");
  }
  out.push("</channel>", "</rss>");
  return `${out.join("\n")}\n`;
}

