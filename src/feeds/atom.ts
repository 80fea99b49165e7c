// Atom 1.0 (RFC 4287), written by hand: the `feed` package stamps `new Date()` into the feed,
// wraps titles in CDATA and cannot set xml:lang per entry. Section numbers refer to RFC 4287.
import type { Release } from "../releases/model.ts";
import { el, empty, xmlAttr } from "./xml.ts";
import { type FeedMeta, feedItems } from "./item.ts";

export function renderAtom(meta: FeedMeta, releases: Release[], now: number): string {
  const items = feedItems(meta, releases);
  const author = `<author>${el("name", meta.orgName)}${el("uri", meta.publicUrl)}</author>`;
  const out: string[] = ['<?xml version="1.0" encoding="utf-8"?>'];
  out.push(`<feed xmlns="http://www.w3.org/2005/Atom"${meta.language ? ` xml:lang="${xmlAttr(meta.language)}"` : ""}>`);
  out.push(
    el("id", meta.selfUrl.atom), // 4.2.6: permanent, so the self URL of this format
    el("title", meta.title, { type: "text" }),
    el("subtitle", meta.description, { type: "text" }),
    el("updated", new Date(now).toISOString()), // 4.2.15: last significant change
    empty("link", { rel: "self", type: "application/atom+xml", href: meta.selfUrl.atom }),
    empty("link", { rel: "alternate", type: "text/html", href: meta.homeUrl }),
    ...(meta.hub ? [empty("link", { rel: "hub", href: meta.hub })] : []), // WebSub 4
    author, // 4.1.1: required unless every entry has one
    el("generator", "Herald"),
  );
  for (const it of items) {
    out.push(`<entry xml:lang="${xmlAttr(it.language)}">`);
    out.push(
      el("id", it.id), // 4.2.6: the same for every revision
      el("title", it.title, { type: "text" }),
      empty("link", { rel: "alternate", type: "text/html", href: it.url }),
      el("published", it.published),
      el("updated", it.updated), // moves with each correction
      author, // 4.2.1: each entry names its author, so it keeps it when read on its own (aggregators)
      el("summary", it.summary, { type: "text" }),
      el("content", it.contentHtml, { type: "html" }), // 4.1.3.3: escaped HTML
      ...it.categories.map((c) => empty("category", { term: c.term, scheme: c.scheme, label: c.label })),
      ...(it.image
        ? [empty("link", { rel: "enclosure", type: it.image.type, href: it.image.url, title: it.image.alt })]
        : []),
    );
    out.push("</entry>");
  }
  out.push("</feed>");
  return `${out.join("\n")}\n`;
}
