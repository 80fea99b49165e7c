// What every format says about a feed and its releases, decided once so RSS, Atom and JSON Feed
// agree: ids, links, dates, the full HTML (dateline, correction, press contacts), categories.
// Pure: no clock, no Redis. Every string passes through stripInvalidChars, whatever the store
// already did, so no release can make a feed unparsable.
import { formatDate } from "../clock.ts";
import type { Config } from "../config/index.ts";
import type { FeedKey } from "../vocabulary.ts";
import { type Contact, type Release, releaseDates } from "../releases/model.ts";
import { escapeHtml, stripInvalidChars } from "../releases/sanitize.ts";
import { FEED_STRINGS } from "../i18n/feeds.ts";
import { uiLanguage } from "../i18n/languages.ts";
import { defaultTaxonomy, type Taxonomy } from "../releases/taxonomy.ts";
import { type FeedFormat, FORMATS, facetLabel, feedTitle, feedUrl, parseFeedKey, releasePageUrl } from "./keys.ts";

export interface FeedMeta {
  key: FeedKey;
  title: string;
  description: string;
  /**
   * Language of the feed: its own for a language feed, else the one all its items share. A feed
   * mixing languages states none; each item states its own (Atom xml:lang, RSS dc:language,
   * JSON Feed item language), so a reader never labels a French item as English.
   */
  language?: string;
  /** The HTML page that lists every feed. */
  homeUrl: string;
  selfUrl: Record<FeedFormat, string>;
  hub?: string;
  orgName: string;
  publicUrl: string;
  timeZone: string;
  /** Labels and IPTC / ISO codes of topics and regions. */
  taxonomy?: Taxonomy;
}

export interface FeedCategory {
  kind: "topics" | "regions";
  term: string;
  /** In the item's language, from the vocabulary. */
  label: string;
  /**
   * Atom scheme and RSS domain: the concept's URI (IPTC Media Topic for a topic, GeoNames for a
   * country), else the feed of that category (a Herald-only concept).
   */
  scheme: string;
}

export interface FeedItem {
  /** Stable across revisions: the release page URL, whatever the release's own `url`. */
  id: string;
  url: string;
  title: string;
  /** Plain text. */
  summary: string;
  contentHtml: string;
  /** ISO dates by releaseDates(): `updated` equals `published` until a correction. */
  published: string;
  updated: string;
  language: string;
  categories: FeedCategory[];
  dateline?: string;
  contacts: Contact[];
  image?: { url: string; alt: string; type: string };
  correction?: string;
  revision: number;
  translationOf?: string;
}

const clean = (s: string) => stripInvalidChars(s);

export function feedMeta(
  config: Config,
  key: FeedKey,
  releases: Release[],
  taxonomy: Taxonomy = defaultTaxonomy(),
): FeedMeta {
  const parsed = parseFeedKey(key);
  const language = parsed?.kind === "languages" ? parsed.value : sharedLanguage(releases);
  const what = parsed && parsed.kind !== "all" ? `: ${facetLabel(parsed.kind, parsed.value)}` : "";
  return {
    key,
    title: clean(feedTitle(config, key)),
    description: clean(`News releases from ${config.orgName}${what}`),
    ...(language ? { language } : {}),
    homeUrl: `${config.publicUrl}/feeds`,
    selfUrl: Object.fromEntries(FORMATS.map((f) => [f, feedUrl(config, key, f)])) as Record<FeedFormat, string>,
    ...(config.websubHub ? { hub: config.websubHub } : {}),
    orgName: clean(config.orgName),
    publicUrl: config.publicUrl,
    timeZone: config.defaultTimezone,
    taxonomy,
  };
}

/** The language every release shares; undefined for a mix (or no release). */
function sharedLanguage(releases: Release[]): string | undefined {
  const languages = new Set(releases.map((r) => r.language));
  return languages.size === 1 ? releases[0]!.language : undefined;
}

export function feedItems(meta: FeedMeta, releases: Release[]): FeedItem[] {
  return releases.map((r) => feedItem(meta, r));
}

export function feedItem(meta: Pick<FeedMeta, "publicUrl" | "timeZone" | "taxonomy">, r: Release): FeedItem {
  const taxonomy = meta.taxonomy ?? defaultTaxonomy();
  const id = releasePageUrl(meta.publicUrl, r.id);
  const dates = releaseDates(r);
  const categories: FeedCategory[] = [
    ...r.topics.map((t) => category(meta.publicUrl, taxonomy, "topics", t, r.language)),
    ...r.regions.map((g) => category(meta.publicUrl, taxonomy, "regions", g, r.language)),
  ];
  const correction = r.revision > 1 && r.correction ? clean(r.correction) : undefined;
  return {
    id,
    url: r.url ?? id,
    title: clean(r.title),
    summary: clean(r.summary ?? excerpt(r.bodyText)),
    contentHtml: contentHtml(r, meta.timeZone, correction),
    published: dates.published,
    updated: dates.modified,
    language: r.language,
    categories,
    ...(r.dateline ? { dateline: clean(r.dateline) } : {}),
    contacts: r.contacts.map((c) => ({
      name: clean(c.name),
      ...(c.office ? { office: clean(c.office) } : {}),
      ...(c.phone ? { phone: clean(c.phone) } : {}),
      ...(c.email ? { email: clean(c.email) } : {}),
    })),
    ...(r.image ? { image: { url: r.image.url, alt: clean(r.image.alt), type: imageType(r.image.url) } } : {}),
    ...(correction ? { correction } : {}),
    revision: r.revision,
    ...(r.translationOf ? { translationOf: r.translationOf } : {}),
  };
}

function category(
  publicUrl: string,
  taxonomy: Taxonomy,
  kind: "topics" | "regions",
  term: string,
  lang: string,
): FeedCategory {
  const c = taxonomy.concept(kind, term, lang);
  return { kind, term, label: c.label, scheme: c.uri ?? `${publicUrl}/feeds/${kind}/` };
}

/** The first paragraph, cut at a word near 300 characters. */
export function excerpt(text: string, max = 300): string {
  const first = (text.split(/\n\s*\n/)[0] ?? "").replace(/\s+/g, " ").trim();
  if (first.length <= max) return first;
  const cut = first.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** The release as one HTML fragment: correction notice, dateline and date, body, contacts. */
function contentHtml(r: Release, timeZone: string, correction: string | undefined): string {
  const l = FEED_STRINGS[uiLanguage(r.language)];
  const parts: string[] = [];
  if (correction)
    parts.push(`<p><em>${escapeHtml(l.correction)}${escapeHtml(l.colon)} ${escapeHtml(correction)}</em></p>`);
  const date = formatDate(r.publishedAt, r.language, timeZone);
  parts.push(
    r.dateline
      ? `<p><strong>${escapeHtml(clean(r.dateline))}</strong> — ${escapeHtml(date)}</p>`
      : `<p>${escapeHtml(date)}</p>`,
  );
  parts.push(clean(r.bodyHtml));
  if (r.contacts.length) {
    parts.push(`<h3>${escapeHtml(r.contacts.length > 1 ? l.contacts : l.contact)}</h3>`);
    parts.push(`<ul>${r.contacts.map((c) => `<li>${contactHtml(c)}</li>`).join("")}</ul>`);
  }
  return parts.join("\n");
}

export function contactHtml(c: Contact): string {
  const bits = [escapeHtml(clean(c.name))];
  if (c.office) bits.push(escapeHtml(clean(c.office)));
  if (c.phone)
    bits.push(`<a href="tel:${escapeHtml(c.phone.replace(/[^+\d]/g, ""))}">${escapeHtml(clean(c.phone))}</a>`);
  if (c.email) bits.push(`<a href="mailto:${escapeHtml(c.email)}">${escapeHtml(c.email)}</a>`);
  return bits.join(", ");
}

const IMAGE_TYPES: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  svg: "image/svg+xml",
};

/** Media type from the URL's extension; a CDN URL without one is most often a JPEG. */
function imageType(url: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(new URL(url).pathname)?.[1]?.toLowerCase() ?? "";
  return IMAGE_TYPES[ext] ?? "image/jpeg";
}
