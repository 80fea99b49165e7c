// The one HTML shell every public page uses (front door, release pages, feeds list, the
// reader's pages): a branded header whose name links to the front door, the main navigation,
// a language switch, then the page. `head` is the slot for extra <head> markup (e.g. feed
// discovery links); pages put their content in `body`. No script, no external resource: the
// pages work under the CSP of feed-pages.ts.
import { LANGUAGE_NAMES, LANGUAGES, type Language, uiLanguage } from "../../i18n/languages.ts";
import { escapeHtml } from "../../releases/sanitize.ts";
import { PAGE_STRINGS } from "../../i18n/pages.ts";

export interface PageOptions {
  /** The language of the page's own words (the header and navigation follow it when it is en, fr or es). */
  lang: string;
  title: string;
  /** Already-escaped HTML. */
  body: string;
  /** Extra <head> markup (trusted HTML), such as <link rel="alternate"> feed discovery links. */
  head?: string;
  orgName: string;
  brandColor: string;
  /** Writing direction of the content (rtl for Arabic releases). */
  dir?: "ltr" | "rtl";
  /** The same page in each interface language, for the switch; none: no switch. */
  languageLinks?: Partial<Record<Language, string>>;
  /** Which navigation entry is this page. */
  current?: "home" | "subscribe" | "feeds";
  /** Show the h1 from `title` (pages that write their own heading say false). */
  heading?: boolean;
}

/** "/?lang=fr": a link that keeps the reader in their language. */
export function withLang(path: string, lang: Language): string {
  return `${path}${path.includes("?") ? "&" : "?"}lang=${lang}`;
}

export function page(o: PageOptions): string {
  const ui = uiLanguage(o.lang);
  const t = PAGE_STRINGS[ui];
  const nav = (
    [
      ["home", "/", t.navLatest],
      ["subscribe", "/subscribe", t.navSubscribe],
      ["feeds", "/feeds", t.navFeeds],
    ] as const
  )
    .map(
      ([id, path, label]) =>
        `<a href="${escapeHtml(withLang(path, ui))}"${o.current === id ? ' aria-current="page"' : ""}>${escapeHtml(label)}</a>`,
    )
    .join("\n");
  const switcher = o.languageLinks
    ? `<nav class="langs" aria-label="${escapeHtml(t.languageNav)}">${LANGUAGES.filter((l) => o.languageLinks?.[l])
        .map((l) =>
          l === ui
            ? `<span aria-current="true" lang="${l}">${LANGUAGE_NAMES[l]}</span>`
            : `<a href="${escapeHtml(o.languageLinks![l]!)}" hreflang="${l}" lang="${l}">${LANGUAGE_NAMES[l]}</a>`,
        )
        .join(" ")}</nav>`
    : "";
  return `<!doctype html>
<html lang="${escapeHtml(o.lang)}"${o.dir === "rtl" ? ' dir="rtl"' : ""}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(o.title)} · ${escapeHtml(o.orgName)}</title>
${o.head ?? ""}
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;background:#f4f4f4;color:#1a1a1a}
a{color:${o.brandColor}}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;color:#000;padding:8px;z-index:1}
header.site{background:${o.brandColor};color:#fff}
header.site .bar{max-width:46rem;margin:0 auto;padding:12px 16px;display:flex;flex-wrap:wrap;align-items:center;gap:8px 24px}
header.site a{color:#fff}
.brand{font-weight:bold;font-size:20px;text-decoration:none;margin-right:auto}
header.site nav a{margin-right:16px;text-decoration:underline;text-underline-offset:3px}
header.site nav a[aria-current=page]{font-weight:bold;text-decoration:none}
.langs{font-size:14px}.langs a,.langs span{margin-right:10px}.langs span{font-weight:bold}
main{max-width:46rem;margin:16px auto;background:#fff;padding:16px 20px 24px;box-sizing:border-box}
@media (min-width:48rem){main{margin:24px auto;padding:24px 32px;border-radius:4px}}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
label{display:block;margin:12px 0 4px;font-weight:bold}
input[type=email],input[type=text],select{width:100%;padding:8px;box-sizing:border-box;font:inherit;border:1px solid #767676}
fieldset{border:1px solid #ccc;margin:12px 0}fieldset label{display:inline-block;font-weight:normal;margin-right:12px}
button,.button{display:inline-block;background:${o.brandColor};color:#fff;border:0;padding:10px 18px;font:inherit;font-size:16px;margin-top:16px;cursor:pointer;text-decoration:none;border-radius:3px}
.error{color:#a00}.note{color:#555;font-size:14px}.meta{color:#555}
.correction{background:#fff6d5;padding:.5rem 1rem}
img{max-width:100%;height:auto}li{margin:.25rem 0}ul li a{white-space:nowrap}
ol.releases{list-style:none;padding:0;margin:0}ol.releases li{border-top:1px solid #ddd;padding:12px 0}
ol.releases h2{font-size:1.15rem;margin:0 0 4px}ol.releases p{margin:4px 0}
.tags{font-size:14px;color:#555}
nav.pages{display:flex;flex-wrap:wrap;gap:12px;justify-content:space-between;margin-top:16px;border-top:1px solid #ddd;padding-top:12px}
footer.site{max-width:46rem;margin:0 auto 24px;padding:0 16px;color:#555;font-size:14px}
</style>
</head>
<body>
<a class="skip" href="#main">${escapeHtml(t.skipToContent)}</a>
<header class="site"><div class="bar">
<a class="brand" href="${escapeHtml(withLang("/", ui))}">${escapeHtml(o.orgName)}</a>
<nav aria-label="${escapeHtml(t.mainNav)}">
${nav}
</nav>
${switcher}
</div></header>
<main id="main">
${o.heading === false ? "" : `<h1>${escapeHtml(o.title)}</h1>\n`}${o.body}
</main>
<footer class="site"><p>${escapeHtml(o.orgName)} · <a href="${escapeHtml(withLang("/feeds", ui))}">${escapeHtml(t.navFeeds)}</a> · <a href="${escapeHtml(withLang("/subscribe", ui))}">${escapeHtml(t.navSubscribe)}</a></p></footer>
</body>
</html>
`;
}

/** The same URL in each interface language: `lang` set, every other parameter (a token) kept. */
export function languageLinksFor(url: string): Record<Language, string> {
  const u = new URL(url, "http://herald.invalid");
  return Object.fromEntries(
    LANGUAGES.map((l) => {
      u.searchParams.set("lang", l);
      return [l, `${u.pathname}${u.search}`];
    }),
  ) as Record<Language, string>;
}
