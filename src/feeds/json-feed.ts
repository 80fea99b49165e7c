// JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), written by hand: the `feed` package
// writes version 1 without `language` or `authors`. Herald-specific facts go in `_herald`,
// the spec's extension mechanism, so machine readers get the dateline and contacts as data.
import type { Release } from "../releases/model.ts";
import { stripInvalidChars } from "../releases/sanitize.ts";
import { type FeedMeta, feedItems } from "./item.ts";

export function renderJsonFeed(meta: FeedMeta, releases: Release[], now: number): string {
  const author = { name: meta.orgName, url: meta.publicUrl };
  const feed = {
    version: "https://jsonfeed.org/version/1.1",
    title: meta.title,
    home_page_url: meta.homeUrl,
    feed_url: meta.selfUrl.json,
    description: meta.description,
    language: meta.language,
    authors: [author],
    ...(meta.hub ? { hubs: [{ type: "WebSub", url: meta.hub }] } : {}),
    _herald: { feed: meta.key, built_at: new Date(now).toISOString() },
    items: feedItems(meta, releases).map((it) => ({
      id: it.id,
      url: it.url,
      title: it.title,
      content_html: it.contentHtml,
      summary: it.summary,
      ...(it.image ? { image: it.image.url } : {}),
      date_published: it.published,
      date_modified: it.updated,
      authors: [author],
      tags: it.categories.map((c) => c.term),
      language: it.language,
      _herald: {
        revision: it.revision,
        topics: it.categories.filter((c) => c.kind === "topics").map((c) => c.term),
        regions: it.categories.filter((c) => c.kind === "regions").map((c) => c.term),
        ...(it.dateline ? { dateline: it.dateline } : {}),
        contacts: it.contacts,
        ...(it.correction ? { correction: it.correction } : {}),
        ...(it.translationOf ? { translation_of: it.translationOf } : {}),
      },
    })),
  };
  // JSON.stringify escapes control characters itself; stripping keeps the text the same as in XML.
  return `${stripInvalidChars(JSON.stringify(feed, null, 2))}\n`;
}
