// Feed keys, formats and URLs. A feed is named by a key ("all", "topics/{slug}",
// "regions/{slug}", "languages/{code}", see vocabulary.ts) and served in three formats; this
// file is the one place that maps keys to paths, URLs, titles and Redis cache keys.
import type { Config } from "../config/index.ts";
import { isLanguageCode, SLUG_RE } from "../releases/model.ts";
import { defaultTaxonomy } from "../releases/taxonomy.ts";
import { FACET_KINDS, type FacetKind, type FeedKey, facetFeedKey } from "../vocabulary.ts";

export const FORMATS = ["rss", "atom", "json"] as const;
export type FeedFormat = (typeof FORMATS)[number];

/** The file name each format is served under, and its media type. */
export const FORMAT_FILE: Record<FeedFormat, string> = { rss: "rss.xml", atom: "atom.xml", json: "feed.json" };
export const FORMAT_TYPE: Record<FeedFormat, string> = {
  rss: "application/rss+xml",
  atom: "application/atom+xml",
  json: "application/feed+json",
};
const FORMAT_LABEL: Record<FeedFormat, string> = { rss: "RSS", atom: "Atom", json: "JSON Feed" };

export function formatOfFile(file: string): FeedFormat | undefined {
  return FORMATS.find((f) => FORMAT_FILE[f] === file);
}

export type ParsedFeedKey = { kind: "all" } | { kind: FacetKind; value: string };

/** Parses and validates a key; undefined for anything that cannot name a feed. */
export function parseFeedKey(key: FeedKey): ParsedFeedKey | undefined {
  if (key === "all") return { kind: "all" };
  const slash = key.indexOf("/");
  const kind = FACET_KINDS.find((k) => k === key.slice(0, slash));
  const value = key.slice(slash + 1);
  if (slash < 0 || !kind || value === "" || value.includes("/")) return undefined;
  const ok = kind === "languages" ? isLanguageCode(value) : SLUG_RE.test(value) && value.length <= 120;
  return ok ? { kind, value } : undefined;
}

/** "/feeds/" or "/feeds/topics/health/": the directory a feed's three files live in. */
export function feedDir(key: FeedKey): string {
  return key === "all" ? "/feeds/" : `/feeds/${key}/`;
}

export function feedUrl(config: Config, key: FeedKey, format: FeedFormat): string {
  return `${config.publicUrl}${feedDir(key)}${FORMAT_FILE[format]}`;
}

// Where a release is read (GET /releases/{id}): email links to it too, so it is vocabulary.
export { releasePageUrl } from "../vocabulary.ts";

const SMALL_WORDS = new Set(["and", "of", "the", "in", "on", "for", "to", "a", "an", "de", "la", "el", "y", "et"]);
const languageNames = new Intl.DisplayNames(["en"], { type: "language", fallback: "code" });

/**
 * A person-readable English name of a facet value: the built-in vocabulary's label
 * ("counter-trafficking" -> "Counter-trafficking"), else one made from the slug.
 */
export function facetLabel(kind: FacetKind, value: string): string {
  if (kind === "languages") return languageNames.of(value) ?? value;
  const vocabulary = defaultTaxonomy();
  if (vocabulary.has(kind, value)) return vocabulary.label(kind, value, "en");
  if (kind === "topics") return value.charAt(0).toUpperCase() + value.slice(1);
  // Regions are place names: "east-and-horn-of-africa" -> "East and Horn of Africa".
  return value
    .split("-")
    .map((w, i) => (i > 0 && SMALL_WORDS.has(w) ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join(" ");
}

/** "ORG_NAME — Counter-trafficking"; the global feed is "ORG_NAME — News releases". */
export function feedTitle(config: Config, key: FeedKey): string {
  const p = parseFeedKey(key);
  if (!p || p.kind === "all") return `${config.orgName} — News releases`;
  return `${config.orgName} — ${facetLabel(p.kind, p.value)}`;
}

export function formatLabel(format: FeedFormat): string {
  return FORMAT_LABEL[format];
}

/** Every feed that exists: the global one and one per topic, region and language ever published. */
export async function knownFeeds(facets: (kind: FacetKind) => Promise<string[]>): Promise<FeedKey[]> {
  const keys: FeedKey[] = ["all"];
  for (const kind of FACET_KINDS) for (const v of await facets(kind)) keys.push(facetFeedKey(kind, v));
  return keys;
}
