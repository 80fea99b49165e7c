import { describe, expect, it } from "vitest";
import { testConfig } from "../../src/config/index.ts";
import { renderAtom } from "../../src/feeds/atom.ts";
import { etagOf } from "../../src/feeds/cache.ts";
import { notModified } from "../../src/feeds/conditional.ts";
import { discoveryLinks } from "../../src/feeds/discovery.ts";
import { excerpt } from "../../src/feeds/item.ts";
import { renderJsonFeed } from "../../src/feeds/json-feed.ts";
import { facetLabel, feedTitle, parseFeedKey } from "../../src/feeds/keys.ts";
import { renderRss } from "../../src/feeds/rss.ts";
import type { Release } from "../../src/releases/model.ts";
import { metaFor, parseWithFxp, parseWithRssParser, release, text } from "../helpers/feeds.ts";

const config = testConfig({
  publicUrl: "https://news.example.org",
  orgName: "IOM",
  websubHub: "https://hub.example.net/",
});
const NOW = Date.parse("2026-11-28T12:00:00Z");

const a = release(
  { id: "a", title: "First release", publishedAt: "2026-11-27T09:00:00Z", url: "https://www.iom.int/news/a" },
  { id: "a" },
);
const b = release(
  {
    id: "b",
    title: "Second release",
    publishedAt: "2026-11-28T09:00:00Z",
    image: { url: "https://img.example.org/b.jpg", alt: "Officials" },
    regions: ["djibouti", "east-and-horn-of-africa"],
  },
  { id: "b" },
);
const releases = [b, a]; // the store gives newest first

describe("feed keys and titles", () => {
  it("parses valid keys and refuses the rest", () => {
    expect(parseFeedKey("all")).toEqual({ kind: "all" });
    expect(parseFeedKey("topics/counter-trafficking")).toEqual({ kind: "topics", value: "counter-trafficking" });
    expect(parseFeedKey("languages/fr")).toEqual({ kind: "languages", value: "fr" });
    for (const bad of ["topics/Bad Slug", "languages/zz", "regions/", "colours/red", "topics/a/b", "../etc"])
      expect(parseFeedKey(bad)).toBeUndefined();
  });
  it("names each feed after the organisation and the facet", () => {
    expect(feedTitle(config, "topics/counter-trafficking")).toBe("IOM — Counter-trafficking");
    expect(feedTitle(config, "regions/east-and-horn-of-africa")).toBe("IOM — East and Horn of Africa");
    expect(feedTitle(config, "languages/fr")).toBe("IOM — French");
    expect(facetLabel("languages", "ar")).toBe("Arabic");
  });
});

describe("RSS 2.0", () => {
  const xml = renderRss(metaFor(config, "all", releases), releases, NOW);

  it("parses with rss-parser: items in order with guid, link, dates, categories, full HTML", async () => {
    const feed = await parseWithRssParser(xml);
    expect(feed.title).toBe("IOM — News releases");
    expect(feed.feedUrl).toBe("https://news.example.org/feeds/rss.xml");
    expect(feed.items.map((i) => i.title)).toEqual(["Second release", "First release"]);
    const [ib, ia] = feed.items;
    expect(ia!.link).toBe("https://www.iom.int/news/a"); // its own url
    expect(ia!.guid).toBe("https://news.example.org/releases/a");
    expect(ib!.link).toBe("https://news.example.org/releases/b"); // no url: the release page
    expect(ib!.isoDate).toBe("2026-11-28T09:00:00.000Z");
    // Each category names its vocabulary: IPTC Media Topics, GeoNames, else the Herald feed.
    const cats = ib!.categories as unknown as { _: string; $: { domain: string } }[];
    expect(cats.map((c) => c._)).toEqual(["Counter-trafficking", "Djibouti", "East and Horn of Africa"]);
    expect(cats.map((c) => c.$.domain)).toEqual([
      "http://cv.iptc.org/newscodes/mediatopic/20000082",
      "https://sws.geonames.org/223816/",
      "https://news.example.org/feeds/regions/",
    ]);
    // The image as Media RSS (no <enclosure>: RSS 2.0 needs its byte length, which Herald does not know).
    expect(ib!.enclosure).toBeUndefined();
    expect(xml).not.toContain("<enclosure");
    const media = parseWithFxp(xml).rss.channel.item[0]["media:content"];
    expect(media).toMatchObject({
      "@_url": "https://img.example.org/b.jpg",
      "@_type": "image/jpeg",
      "@_medium": "image",
    });
    expect(text(media["media:description"])).toBe("Officials");
    expect(ib!["content:encoded"]).toContain("<strong>Djibouti</strong>");
    expect(ib!["content:encoded"]).toContain("IOM this week trained forty border officials.");
    expect(ib!["content:encoded"]).toContain('<a href="mailto:aidriss@example.org">');
    // Revision 1: updated is the publication, not the ingest time (10:00), so it does not look corrected.
    expect(ib!["atom:updated"]).toBe("2026-11-28T09:00:00.000Z");
  });

  it("parses with fast-xml-parser: channel language, self and hub links, lastBuildDate from now", () => {
    const ch = parseWithFxp(xml).rss.channel;
    expect(text(ch.language)).toBe("en");
    expect(text(ch.lastBuildDate)).toBe("Sat, 28 Nov 2026 12:00:00 GMT");
    const links = ch["atom:link"].map((l: Record<string, string>) => [l["@_rel"], l["@_href"]]);
    expect(links).toEqual([
      ["self", "https://news.example.org/feeds/rss.xml"],
      ["hub", "https://hub.example.net/"],
    ]);
    expect(ch.item).toHaveLength(2);
    expect(text(ch.item[0].guid)).toBe("https://news.example.org/releases/b");
    expect(ch.item[0].guid["@_isPermaLink"]).toBe("false");
  });

  it("is pure: same input and now, same bytes; another now, another build date", () => {
    expect(renderRss(metaFor(config, "all", releases), releases, NOW)).toBe(xml);
    expect(renderRss(metaFor(config, "all", releases), releases, NOW + 1000)).not.toBe(xml);
  });
});

describe("Atom 1.0", () => {
  const xml = renderAtom(metaFor(config, "topics/counter-trafficking", releases), releases, NOW);

  it("parses with rss-parser", async () => {
    const feed = await parseWithRssParser(xml);
    expect(feed.title).toBe("IOM — Counter-trafficking");
    expect(feed.items.map((i) => i.id)).toEqual([
      "https://news.example.org/releases/b",
      "https://news.example.org/releases/a",
    ]);
    expect(feed.items[1]!.link).toBe("https://www.iom.int/news/a");
    expect(feed.items[0]!.content).toContain("<strong>Djibouti</strong>");
  });

  it("parses with fast-xml-parser: required elements, hub, xml:lang, published/updated, categories", () => {
    expect(xml).toContain("&lt;p&gt;&lt;strong&gt;Djibouti"); // content is escaped, never CDATA
    const feed = parseWithFxp(xml).feed;
    expect(feed["@_xmlns"]).toBe("http://www.w3.org/2005/Atom");
    expect(feed["@_xml:lang"]).toBe("en");
    expect(text(feed.updated)).toBe("2026-11-28T12:00:00.000Z");
    expect(feed.link.map((l: Record<string, string>) => l["@_rel"])).toEqual(["self", "alternate", "hub"]);
    expect(text(feed.author.name)).toBe("IOM");
    const e = feed.entry[0];
    expect(text(e.id)).toBe("https://news.example.org/releases/b");
    expect(text(e.published)).toBe("2026-11-28T09:00:00.000Z");
    expect(text(e.updated)).toBe("2026-11-28T09:00:00.000Z"); // revision 1: the publication, not the 10:00 ingest
    expect(text(e.author.name)).toBe("IOM"); // every entry names its author
    expect(e.category.map((c: Record<string, string>) => c["@_term"])).toEqual([
      "counter-trafficking",
      "djibouti",
      "east-and-horn-of-africa",
    ]);
    expect(e.category.map((c: Record<string, string>) => c["@_scheme"])).toEqual([
      "http://cv.iptc.org/newscodes/mediatopic/20000082",
      "https://sws.geonames.org/223816/",
      "https://news.example.org/feeds/regions/",
    ]);
    expect(e.category.map((c: Record<string, string>) => c["@_label"])).toEqual([
      "Counter-trafficking",
      "Djibouti",
      "East and Horn of Africa",
    ]);
    expect(e.link.find((l: Record<string, string>) => l["@_rel"] === "enclosure")["@_href"]).toBe(
      "https://img.example.org/b.jpg",
    );
    expect(text(e.content)).toContain("<p><strong>Djibouti</strong>"); // escaped in the XML, HTML once parsed
    expect(e.content["@_type"]).toBe("html");
  });

  it("a correction keeps the id, moves updated and shows the note", async () => {
    const r2 = release(
      { id: "b", title: "Second release (corrected)", publishedAt: "2026-11-28T09:00:00Z" },
      {
        id: "b",
        revision: 2,
        now: "2026-11-28T11:30:00Z",
        previous: b,
        correction: "Corrected the number of officials",
      },
    );
    const before = (await parseWithRssParser(renderAtom(metaFor(config, "all", [b]), [b], NOW))).items[0]!;
    const after = (await parseWithRssParser(renderAtom(metaFor(config, "all", [r2]), [r2], NOW))).items[0]!;
    expect(after.id).toBe(before.id);
    expect(after.title).toBe("Second release (corrected)");
    const updated = (x: string) => text(parseWithFxp(x).feed.entry[0].updated);
    expect(updated(renderAtom(metaFor(config, "all", [b]), [b], NOW))).toBe("2026-11-28T09:00:00.000Z");
    expect(updated(renderAtom(metaFor(config, "all", [r2]), [r2], NOW))).toBe("2026-11-28T11:30:00.000Z");
    expect(after.content).toContain("Correction: Corrected the number of officials");
    const rss = await parseWithRssParser(renderRss(metaFor(config, "all", [r2]), [r2], NOW));
    expect(rss.items[0]!.guid).toBe("https://news.example.org/releases/b");
  });
});

describe("JSON Feed 1.1", () => {
  const fr = release(
    { id: "c-fr", title: "Formation des agents", language: "fr", translationOf: "b", topics: ["counter-trafficking"] },
    { id: "c-fr" },
  );
  const json = renderJsonFeed(metaFor(config, "languages/fr", [fr]), [fr], NOW);

  it("has version, language, authors, hubs and items with the required fields", () => {
    const feed = JSON.parse(json);
    expect(feed.version).toBe("https://jsonfeed.org/version/1.1");
    expect(feed.title).toBe("IOM — French");
    expect(feed.language).toBe("fr");
    expect(feed.feed_url).toBe("https://news.example.org/feeds/languages/fr/feed.json");
    expect(feed.authors).toEqual([{ name: "IOM", url: "https://news.example.org" }]);
    expect(feed.hubs).toEqual([{ type: "WebSub", url: "https://hub.example.net/" }]);
    const item = feed.items[0];
    expect(item).toMatchObject({
      id: "https://news.example.org/releases/c-fr",
      url: "https://news.example.org/releases/c-fr",
      title: "Formation des agents",
      language: "fr",
      date_published: "2026-11-20T09:00:00.000Z",
      date_modified: "2026-11-20T09:00:00.000Z", // revision 1: its publication, not the ingest time
      tags: ["counter-trafficking", "djibouti"],
    });
    expect(item.content_html).toContain("Contact presse"); // labels in the release's language
    expect(item._herald).toMatchObject({
      dateline: "Djibouti",
      translation_of: "b",
      revision: 1,
      contacts: [{ name: "Amina Idriss" }],
    });
    for (const k of Object.keys(item)) expect(k).not.toMatch(/^author$/); // 1.1 uses authors
  });

  it("an empty feed is still a valid feed in every format", async () => {
    const meta = metaFor(config, "topics/health", []);
    expect(JSON.parse(renderJsonFeed(meta, [], NOW)).items).toEqual([]);
    expect((await parseWithRssParser(renderRss(meta, [], NOW))).items).toEqual([]);
    expect((await parseWithRssParser(renderAtom(meta, [], NOW))).items).toEqual([]);
    parseWithFxp(renderAtom(meta, [], NOW));
  });
});

describe("dates, languages and titles", () => {
  // Published 24 November, imported (stored) 30 November.
  const backdated = release(
    { id: "old", title: "Old news", publishedAt: "2026-11-24T09:00:00Z" },
    { id: "old", now: "2026-11-30T15:00:00Z" },
  );

  it("a back-dated import carries its publication date everywhere and does not look corrected", async () => {
    const meta = metaFor(config, "all", [backdated]);
    const atom = parseWithFxp(renderAtom(meta, [backdated], NOW)).feed.entry[0];
    expect(text(atom.published)).toBe("2026-11-24T09:00:00.000Z");
    expect(text(atom.updated)).toBe("2026-11-24T09:00:00.000Z");
    const rss = (await parseWithRssParser(renderRss(meta, [backdated], NOW))).items[0]!;
    expect(rss.pubDate).toBe("Tue, 24 Nov 2026 09:00:00 GMT");
    expect(rss["atom:updated"]).toBe("2026-11-24T09:00:00.000Z");
    const json = JSON.parse(renderJsonFeed(meta, [backdated], NOW)).items[0];
    expect([json.date_published, json.date_modified]).toEqual(["2026-11-24T09:00:00.000Z", "2026-11-24T09:00:00.000Z"]);
  });

  it("an update moves updated / date_modified to the update time", () => {
    const r2 = release(
      { id: "old", title: "Old news (corrected)", publishedAt: "2026-11-24T09:00:00Z" },
      { id: "old", revision: 2, now: "2026-12-01T08:15:00Z", previous: backdated, correction: "Title" },
    );
    const meta = metaFor(config, "all", [r2]);
    const atom = parseWithFxp(renderAtom(meta, [r2], NOW)).feed.entry[0];
    expect([text(atom.published), text(atom.updated)]).toEqual([
      "2026-11-24T09:00:00.000Z",
      "2026-12-01T08:15:00.000Z",
    ]);
    expect(JSON.parse(renderJsonFeed(meta, [r2], NOW)).items[0].date_modified).toBe("2026-12-01T08:15:00.000Z");
  });

  it("a mixed-language feed states each item's language, not its newest item's for all", async () => {
    const en = release(
      { id: "m-en", title: "Training", topics: ["health"], publishedAt: "2026-11-26T09:00:00Z" },
      { id: "m-en" },
    );
    const fr = release(
      { id: "m-fr", title: "Formation", language: "fr", topics: ["health"], publishedAt: "2026-11-27T09:00:00Z" },
      { id: "m-fr" },
    );
    const items = [fr, en]; // newest (French) first
    const meta = metaFor(config, "topics/health", items);
    const rssXml = renderRss(meta, items, NOW);
    const ch = parseWithFxp(rssXml).rss.channel;
    expect(ch.language).toBeUndefined();
    expect(ch.item.map((i: Record<string, unknown>) => text(i["dc:language"]))).toEqual(["fr", "en"]);
    const atom = parseWithFxp(renderAtom(meta, items, NOW)).feed;
    expect(atom["@_xml:lang"]).toBeUndefined();
    expect(atom.entry.map((e: Record<string, string>) => e["@_xml:lang"])).toEqual(["fr", "en"]);
    const json = JSON.parse(renderJsonFeed(meta, items, NOW));
    expect(json.language).toBeUndefined();
    expect(json.items.map((i: { language: string }) => i.language)).toEqual(["fr", "en"]);
    // One language throughout: the feed says it.
    expect(parseWithFxp(renderAtom(metaFor(config, "topics/health", [en]), [en], NOW)).feed["@_xml:lang"]).toBe("en");
  });

  it("a literal <Test> in a title is kept as text by the store and every format", async () => {
    const r = release({ id: "bracket", title: "Call for <Test> entries & more" }, { id: "bracket" });
    expect(r.title).toBe("Call for <Test> entries & more");
    const meta = metaFor(config, "all", [r]);
    const rssXml = renderRss(meta, [r], NOW);
    expect((await parseWithRssParser(rssXml)).items[0]!.title).toBe("Call for <Test> entries & more");
    const atomXml = renderAtom(meta, [r], NOW);
    expect(atomXml).toContain("Call for &lt;Test&gt; entries &amp; more");
    expect((await parseWithRssParser(atomXml)).items[0]!.title).toBe("Call for <Test> entries & more");
    expect(JSON.parse(renderJsonFeed(meta, [r], NOW)).items[0].title).toBe("Call for <Test> entries & more");
    // Real markup is still removed.
    expect(release({ id: "x", title: "Call <script>alert(1)</script><b>now</b>" }, { id: "x" }).title).toBe("Call now");
  });
});

describe("hostile characters", () => {
  // Built by hand, skipping validation, to prove the renderers hold even if the store did not.
  const C0 = "\u0000\u0001\u0002\u0008\u000b\u000c\u000e\u001f\u007f\ufffe";
  const arabic = "المنظمة الدولية للهجرة تدرب موظفي الحدود";
  const longTitle = `${"Very long title & more ".repeat(500)}end`;
  const nasty: Release = {
    ...release({ id: "nasty" }, { id: "nasty" }),
    title: `Fish & Chips <script>alert(1)</script> ]]> ${C0} 🐟🇩🇯 ${arabic} \ud800 end`,
    summary: `Summary ]]> & < > ${C0} 😀`,
    bodyHtml: `<p>Body ]]&gt; &amp; ${C0}<br>${arabic} 🎉</p>`,
    bodyText: `Body ]]> & ${C0} ${arabic}`,
    dateline: `Djibouti ]]> & <b>${C0}`,
    contacts: [{ name: `Name ]]> & <i>${C0}`, office: "Office \u0007", email: "a@example.org" }],
    correction: "unused at revision 1",
  };
  const long: Release = { ...release({ id: "long" }, { id: "long" }), title: longTitle };
  const items = [nasty, long];
  const meta = metaFor(config, "all", items);
  const expectedTitle = `Fish & Chips <script>alert(1)</script> ]]>  🐟🇩🇯 ${arabic}  end`;

  it("RSS stays well-formed and both parsers read the exact title back", async () => {
    const xml = renderRss(meta, items, NOW);
    const tree = parseWithFxp(xml);
    expect(tree.rss.channel.item).toHaveLength(2);
    const feed = await parseWithRssParser(xml);
    expect(feed.items[0]!.title).toBe(expectedTitle);
    expect(feed.items[1]!.title).toBe(longTitle);
    expect(feed.items[0]!["content:encoded"]).toContain(arabic);
    expect(feed.items[0]!["content:encoded"]).toContain("🎉");
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  });

  it("Atom stays well-formed and both parsers read the exact title back", async () => {
    const xml = renderAtom(meta, items, NOW);
    const tree = parseWithFxp(xml);
    expect(tree.feed.entry).toHaveLength(2);
    const feed = await parseWithRssParser(xml);
    expect(feed.items[0]!.title).toBe(expectedTitle);
    expect(feed.items[1]!.title).toBe(longTitle);
    expect(xml).not.toContain("<script>");
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  });

  it("JSON Feed parses and keeps the text", () => {
    const feed = JSON.parse(renderJsonFeed(meta, items, NOW));
    expect(feed.items[0].title).toBe(expectedTitle);
    expect(feed.items[0].summary).toBe("Summary ]]> & < >  😀");
    expect(feed.items[1].title).toBe(longTitle);
    expect(feed.items[0]._herald.contacts[0].name).toBe("Name ]]> & <i>");
  });
});

describe("discovery, conditional requests, ETags", () => {
  it("discoveryLinks gives one <link rel=alternate> per format and feed, escaped", () => {
    const html = discoveryLinks({ ...config, orgName: 'A "quoted" & <org>' }, ["all", "topics/health"]);
    expect(html.match(/<link rel="alternate"/g)).toHaveLength(6);
    expect(html).toContain('type="application/atom+xml"');
    expect(html).toContain('href="https://news.example.org/feeds/topics/health/feed.json"');
    expect(html).toContain("A &quot;quoted&quot; &amp; &lt;org&gt;");
    expect(discoveryLinks(config).match(/<link /g)).toHaveLength(3);
  });

  it("If-None-Match wins over If-Modified-Since; weak tags and lists match", () => {
    const head = { etag: etagOf("body"), lastModified: Date.parse("2026-11-28T10:00:00.500Z") };
    expect(notModified({ "if-none-match": head.etag }, head)).toBe(true);
    expect(notModified({ "if-none-match": `"other", W/${head.etag}` }, head)).toBe(true);
    expect(
      notModified({ "if-none-match": '"other"', "if-modified-since": "Sat, 28 Nov 2026 11:00:00 GMT" }, head),
    ).toBe(false);
    expect(notModified({ "if-modified-since": "Sat, 28 Nov 2026 10:00:00 GMT" }, head)).toBe(true);
    expect(notModified({ "if-modified-since": "Sat, 28 Nov 2026 09:59:59 GMT" }, head)).toBe(false);
    expect(notModified({ "if-modified-since": "garbage" }, head)).toBe(false);
    expect(notModified({}, head)).toBe(false);
  });

  it("etags are strong, quoted and change with the bytes", () => {
    expect(etagOf("x")).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(etagOf("x")).not.toBe(etagOf("y"));
  });

  it("excerpt cuts long text at a word", () => {
    expect(excerpt("short")).toBe("short");
    const cut = excerpt("word ".repeat(200));
    expect(cut.length).toBeLessThanOrEqual(301);
    expect(cut.endsWith("word…")).toBe(true);
  });
});
