// The HTML Herald serves about feeds: the list of every feed (GET /feeds) and a public release
// page (GET /releases/{id}), which is what item links point at when a release has no `url`.
// Pure: each takes what it shows. Release HTML is the stored, sanitised body; everything else
// is escaped here.
import type { Config } from "../config/index.ts";
import type { FeedKey } from "../jobs/queues.ts";
import type { Release } from "../releases/model.ts";
import { escapeHtml } from "../releases/sanitize.ts";
import { discoveryLinks } from "./discovery.ts";
import { contactHtml, formatDate } from "./item.ts";
import { FORMAT_FILE, FORMATS, facetLabel, feedDir, formatLabel, parseFeedKey } from "./keys.ts";

/** No scripts, no plugins, no framing; images from the web only. */
export const PAGE_CSP = "default-src 'none'; img-src https: http:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}" +
  "h1{font-size:1.6rem;line-height:1.25}a{color:#0033a0}.meta{color:#555}.note{background:#fff6d5;padding:.5rem 1rem}" +
  "img{max-width:100%;height:auto}li{margin:.25rem 0}";

function page(opts: { lang: string; title: string; head: string; body: string; dir?: "rtl" | "ltr" }): string {
  return `<!doctype html>
<html lang="${escapeHtml(opts.lang)}"${opts.dir === "rtl" ? ' dir="rtl"' : ""}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
${opts.head}
<style>${STYLE}</style>
</head>
<body>
${opts.body}
</body>
</html>
`;
}

const RTL = new Set(["ar", "fa", "he", "ur", "ps", "dv", "yi"]);
const direction = (lang: string) => (RTL.has(lang.slice(0, 2)) ? "rtl" : "ltr");

function feedLinks(key: FeedKey): string {
  return FORMATS.map((f) => `<a href="${escapeHtml(feedDir(key) + FORMAT_FILE[f])}">${formatLabel(f)}</a>`).join(" · ");
}

/** GET /feeds: every feed, grouped, with autodiscovery tags for all of them. */
export function renderFeedsPage(config: Config, feeds: FeedKey[]): string {
  const groups: { heading: string; keys: FeedKey[] }[] = [
    { heading: "All releases", keys: feeds.filter((k) => k === "all") },
    { heading: "By topic", keys: feeds.filter((k) => k.startsWith("topics/")) },
    { heading: "By region", keys: feeds.filter((k) => k.startsWith("regions/")) },
    { heading: "By language", keys: feeds.filter((k) => k.startsWith("languages/")) },
  ];
  const label = (key: FeedKey) => {
    const p = parseFeedKey(key);
    return !p || p.kind === "all" ? "Every release" : facetLabel(p.kind, p.value);
  };
  const sections = groups
    .filter((g) => g.keys.length)
    .map(
      (g) =>
        `<h2>${escapeHtml(g.heading)}</h2>\n<ul>\n${g.keys
          .map((k) => `<li>${escapeHtml(label(k))}: ${feedLinks(k)}</li>`)
          .join("\n")}\n</ul>`,
    )
    .join("\n");
  return page({
    lang: "en",
    title: `${config.orgName} — Feeds`,
    head: discoveryLinks(config, feeds),
    body: `<h1>${escapeHtml(config.orgName)} — Feeds</h1>
<p>Follow our news releases in any feed reader: paste one of these addresses into it. RSS, Atom and JSON Feed carry the same entries.</p>
${sections}`,
  });
}

export interface ReleasePageLinks {
  /** Other language versions (published only), with their language. */
  translations: { id: string; language: string; title: string }[];
}

/** GET /releases/{id}: one public release, readable and safe. */
export function renderReleasePage(config: Config, r: Release, links: ReleasePageLinks): string {
  const dir = direction(r.language);
  const date = formatDate(r.publishedAt, r.language, config.defaultTimezone);
  const facets = [
    ...r.topics.map((t) => `<a href="${escapeHtml(feedDir(`topics/${t}`))}atom.xml">${escapeHtml(facetLabel("topics", t))}</a>`),
    ...r.regions.map((g) => `<a href="${escapeHtml(feedDir(`regions/${g}`))}atom.xml">${escapeHtml(facetLabel("regions", g))}</a>`),
  ];
  const parts: string[] = [];
  parts.push(`<p class="meta"><a href="/feeds">${escapeHtml(config.orgName)}</a></p>`);
  parts.push(`<h1>${escapeHtml(r.title)}</h1>`);
  parts.push(
    `<p class="meta">${r.dateline ? `<strong>${escapeHtml(r.dateline)}</strong> — ` : ""}<time datetime="${escapeHtml(r.publishedAt)}">${escapeHtml(date)}</time></p>`,
  );
  if (r.correction && r.revision > 1) parts.push(`<p class="note"><em>${escapeHtml(r.correction)}</em></p>`);
  if (r.image) parts.push(`<p><img src="${escapeHtml(r.image.url)}" alt="${escapeHtml(r.image.alt)}"></p>`);
  parts.push(r.bodyHtml);
  if (r.contacts.length) {
    parts.push(`<h2>Contacts</h2>\n<ul>${r.contacts.map((c) => `<li>${contactHtml(c)}</li>`).join("")}</ul>`);
  }
  if (links.translations.length) {
    parts.push(
      `<p class="meta">Also in: ${links.translations
        .map((t) => `<a href="/releases/${encodeURIComponent(t.id)}" hreflang="${escapeHtml(t.language)}" lang="${escapeHtml(t.language)}">${escapeHtml(t.title)}</a>`)
        .join(" · ")}</p>`,
    );
  }
  if (facets.length) parts.push(`<p class="meta">Feeds: ${facets.join(" · ")}</p>`);
  const feeds: FeedKey[] = ["all", ...r.topics.map((t) => `topics/${t}`), `languages/${r.language}`];
  return page({ lang: r.language, dir, title: `${r.title} — ${config.orgName}`, head: discoveryLinks(config, feeds), body: parts.join("\n") });
}

/** A short HTML answer for 404 / 410 on pages people open in a browser. */
export function renderGonePage(config: Config, status: 404 | 410, message: string): string {
  const heading = status === 410 ? "This release was withdrawn" : "Not found";
  return page({
    lang: "en",
    title: `${heading} — ${config.orgName}`,
    head: discoveryLinks(config),
    body: `<h1>${heading}</h1>\n<p>${escapeHtml(message)}</p>\n<p><a href="/feeds">${escapeHtml(config.orgName)} feeds</a></p>`,
  });
}
