// RSS 2.0 (https://www.rssboard.org/rss-specification) with the `rss` package, plus
// content:encoded for the full HTML and atom:link rel=self/hub. The package stamps
// `new Date()` into <lastBuildDate>; we replace it with `now` so the renderer stays pure and
// equal input gives equal bytes (the ETag depends on it). Its CDATA sections split `]]>`.
import RSS from "rss";
import type { Release } from "../releases/model.ts";
import { escapeHtml, stripInvalidChars } from "../releases/sanitize.ts";
import { type FeedMeta, feedItems } from "./item.ts";

export function renderRss(meta: FeedMeta, releases: Release[], now: number): string {
  const rss = new RSS({
    title: meta.title,
    description: meta.description,
    generator: "Herald",
    feed_url: meta.selfUrl.rss,
    site_url: meta.homeUrl,
    ...(meta.language ? { language: meta.language } : {}),
    custom_namespaces: { media: "http://search.yahoo.com/mrss/" },
    pubDate: new Date(now),
    ttl: 5,
    ...(meta.hub ? { hub: meta.hub } : {}),
  });
  for (const it of feedItems(meta, releases)) {
    rss.item({
      title: it.title,
      // description is HTML to readers: the plain-text summary is escaped into it.
      description: escapeHtml(it.summary),
      url: it.url,
      guid: it.id,
      // Not the package's `categories`: it cannot write the domain (the IPTC / GeoNames URI).
      author: meta.orgName,
      date: new Date(it.published),
      // The feature image as Media RSS, not <enclosure>: RSS 2.0 requires an enclosure's length in
      // bytes, which Herald does not know (it never fetches the image), and length="0" is false.
      custom_elements: [
        ...it.categories.map((c) => ({ category: [{ _attr: { domain: c.scheme } }, c.label] })),
        { "content:encoded": { _cdata: it.contentHtml } },
        { "atom:updated": it.updated },
        { "dc:language": it.language },
        ...(it.image
          ? [
              {
                "media:content": [
                  { _attr: { url: it.image.url, type: it.image.type, medium: "image" } },
                  { "media:description": [{ _attr: { type: "plain" } }, it.image.alt] },
                ],
              },
            ]
          : []),
      ],
    });
  }
  const xml = rss.xml({ indent: true });
  const built = new Date(now).toUTCString();
  return `${stripInvalidChars(xml).replace(/<lastBuildDate>[^<]*<\/lastBuildDate>/, `<lastBuildDate>${built}</lastBuildDate>`)}\n`;
}
