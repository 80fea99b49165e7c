// The HTML Herald serves about feeds: the list of every feed (GET /feeds) and a public release
// page (GET /releases/{id}), which is what item links point at when a release has no `url`.
// Pure: each takes what it shows. Release HTML is the stored, sanitised body; everything else
// is escaped here. Every page is in one language: the visitor's for /feeds and 404s, the
// release's own for a release page (en, fr, es; English words around other languages).
import { formatDate } from "../../clock.ts";
import type { Config } from "../../config/index.ts";
import { type PageOptions, page as shell, withLang } from "./layout.ts";
import { LANGUAGE_NAMES, LANGUAGES, type Language, uiLanguage } from "../../i18n/languages.ts";
import { PAGE_STRINGS } from "../../i18n/pages.ts";
import { FACET_KINDS, type FacetKind, type FeedKey, facetFeedKey, feedKeysOf } from "../../vocabulary.ts";
import type { Release } from "../../releases/model.ts";
import { escapeHtml } from "../../releases/sanitize.ts";
import type { Taxonomy } from "../../releases/taxonomy.ts";
import { discoveryLinks } from "../../feeds/discovery.ts";
import { contactHtml } from "../../feeds/item.ts";
import { FORMAT_FILE, FORMATS, facetLabel, feedDir, formatLabel, parseFeedKey } from "../../feeds/keys.ts";

function page(config: Config, o: Omit<PageOptions, "orgName" | "brandColor">): string {
  return shell({ ...o, orgName: config.orgNames[uiLanguage(o.lang)], brandColor: config.brandColor });
}

/** A topic or region's label in `lang`: from the vocabulary when given, else from the slug. */
function labelOf(taxonomy: Taxonomy | undefined, kind: FacetKind, value: string, lang: string): string {
  if (kind === "languages")
    return (
      (LANGUAGE_NAMES as Record<string, string>)[value] ??
      new Intl.DisplayNames([lang], { type: "language", fallback: "code" }).of(value) ??
      value
    );
  return taxonomy ? taxonomy.label(kind, value, lang) : facetLabel(kind, value);
}

/** No scripts, no plugins, no framing; images from the web only. */
export const PAGE_CSP =
  "default-src 'none'; img-src https: http:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const RTL = new Set(["ar", "fa", "he", "ur", "ps", "dv", "yi"]);
const direction = (lang: string) => (RTL.has(lang.slice(0, 2)) ? "rtl" : "ltr");

function feedLinks(key: FeedKey): string {
  return FORMATS.map((f) => `<a href="${escapeHtml(feedDir(key) + FORMAT_FILE[f])}">${formatLabel(f)}</a>`).join(" · ");
}

/** GET /feeds: every feed, grouped, labelled in the visitor's language, with autodiscovery tags for all of them. */
export function renderFeedsPage(config: Config, feeds: FeedKey[], lang: Language = "en", taxonomy?: Taxonomy): string {
  const t = PAGE_STRINGS[lang];
  const headings: Record<FacetKind, string> = { topics: t.byTopic, regions: t.byRegion, languages: t.byLanguage };
  const groups: { heading: string; keys: FeedKey[] }[] = [
    { heading: t.allReleases, keys: feeds.filter((k) => k === "all") },
    ...FACET_KINDS.map((kind) => ({
      heading: headings[kind],
      keys: feeds.filter((k) => k.startsWith(facetFeedKey(kind, ""))),
    })),
  ];
  const label = (key: FeedKey) => {
    const p = parseFeedKey(key);
    return !p || p.kind === "all" ? t.everyRelease : labelOf(taxonomy, p.kind, p.value, lang);
  };
  const collator = new Intl.Collator(lang);
  const sections = groups
    .filter((g) => g.keys.length)
    .map(
      (g) =>
        `<h2>${escapeHtml(g.heading)}</h2>\n<ul>\n${g.keys
          .map((k) => [label(k), k] as const)
          .sort((a, b) => collator.compare(a[0], b[0]))
          .map(([l, k]) => `<li>${escapeHtml(l)}${escapeHtml(t.colon)} ${feedLinks(k)}</li>`)
          .join("\n")}\n</ul>`,
    )
    .join("\n");
  return page(config, {
    lang,
    title: t.feedsTitle,
    head: discoveryLinks(config, feeds),
    current: "feeds",
    languageLinks: Object.fromEntries(LANGUAGES.map((l) => [l, withLang("/feeds", l)])),
    body: `<p>${escapeHtml(t.feedsIntro)}</p>\n${sections}`,
  });
}

export interface ReleasePageLinks {
  /** Other language versions (published only), with their language. */
  translations: { id: string; language: string; title: string }[];
}

/** GET /releases/{id}: one public release, readable and safe, in its own language. */
export function renderReleasePage(config: Config, r: Release, links: ReleasePageLinks, taxonomy?: Taxonomy): string {
  const dir = direction(r.language);
  const ui = uiLanguage(r.language);
  const t = PAGE_STRINGS[ui];
  const date = formatDate(r.publishedAt, r.language, config.defaultTimezone);
  const facets = [
    ...r.topics.map(
      (x) =>
        `<a href="${escapeHtml(feedDir(facetFeedKey("topics", x)))}atom.xml">${escapeHtml(labelOf(taxonomy, "topics", x, r.language))}</a>`,
    ),
    ...r.regions.map(
      (g) =>
        `<a href="${escapeHtml(feedDir(facetFeedKey("regions", g)))}atom.xml">${escapeHtml(labelOf(taxonomy, "regions", g, r.language))}</a>`,
    ),
  ];
  const parts: string[] = [];
  parts.push("<article>");
  parts.push(`<h1>${escapeHtml(r.title)}</h1>`);
  parts.push(
    `<p class="meta">${r.dateline ? `<strong>${escapeHtml(r.dateline)}</strong> — ` : ""}<time datetime="${escapeHtml(r.publishedAt)}">${escapeHtml(date)}</time></p>`,
  );
  if (r.correction && r.revision > 1)
    parts.push(
      `<p class="correction"><strong>${escapeHtml(t.correction)}</strong> <em>${escapeHtml(r.correction)}</em></p>`,
    );
  if (r.image) parts.push(`<p><img src="${escapeHtml(r.image.url)}" alt="${escapeHtml(r.image.alt)}"></p>`);
  parts.push(r.bodyHtml);
  if (r.contacts.length) {
    parts.push(
      `<h2>${escapeHtml(t.contacts)}</h2>\n<ul>${r.contacts.map((c) => `<li>${contactHtml(c)}</li>`).join("")}</ul>`,
    );
  }
  if (links.translations.length) {
    parts.push(
      `<p class="meta">${escapeHtml(t.alsoIn)} ${links.translations
        .map(
          (x) =>
            `<a href="/releases/${encodeURIComponent(x.id)}" hreflang="${escapeHtml(x.language)}" lang="${escapeHtml(x.language)}">${escapeHtml(x.title)}</a> (${escapeHtml(labelOf(taxonomy, "languages", x.language, ui))})`,
        )
        .join(" · ")}</p>`,
    );
  }
  if (facets.length) parts.push(`<p class="meta">${escapeHtml(t.feedsOf)} ${facets.join(" · ")}</p>`);
  parts.push("</article>");
  // Discovery links name the global, topic and language feeds of the release (not its regions).
  const feeds = feedKeysOf(r).filter((k) => !k.startsWith(facetFeedKey("regions", "")));
  return page(config, {
    lang: r.language,
    dir,
    heading: false,
    title: r.title,
    head: discoveryLinks(config, feeds),
    body: parts.join("\n"),
  });
}

/** A short HTML answer for 404 / 410 on pages people open in a browser, in the visitor's language. */
export function renderGonePage(config: Config, status: 404 | 410, lang: Language = "en"): string {
  const t = PAGE_STRINGS[lang];
  const heading = status === 410 ? t.withdrawnTitle : t.notFoundTitle;
  return page(config, {
    lang,
    title: heading,
    head: discoveryLinks(config),
    body: `<p>${escapeHtml(status === 410 ? t.withdrawn : t.notFound)}</p>\n<p><a href="${escapeHtml(withLang("/", lang))}">${escapeHtml(t.backHome)}</a></p>`,
  });
}
