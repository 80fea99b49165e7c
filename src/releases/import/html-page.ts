// Reads a saved press-release web page. The release is what follows its <h1> inside the
// page's main content; site chrome (header, nav, footer, aside, forms, cookie banners, share
// widgets, breadcrumbs, related-content lists) is dropped by element, role and class.
import { isFooterMarker, isWidgetLine } from "./chrome.ts";
import { isContactIntro } from "./contacts.ts";
import { dateLineKind, normaliseMachineDate, parseDateLine } from "./dates.ts";
import {
  ancestors,
  collapseWhitespace,
  elements,
  type HtmlElement,
  type HtmlNode,
  parseHtml,
  textOf,
} from "./html-parser.ts";
import { type Block, blockText, type Inline, type ScrapedPage } from "./page.ts";

/** Elements that are never release text, wherever they appear. */
const DROPPED_TAGS = new Set([
  "head",
  "script",
  "style",
  "noscript",
  "template",
  "nav",
  "aside",
  "footer",
  "form",
  "button",
  "select",
  "textarea",
  "input",
  "label",
  "iframe",
  "svg",
  "canvas",
  "figure",
  "img",
  "picture",
  "video",
  "audio",
  "object",
  "embed",
  "dialog",
  "menu",
  "map",
]);

const CHROME_ROLES = new Set([
  "navigation",
  "banner",
  "contentinfo",
  "complementary",
  "search",
  "dialog",
  "alertdialog",
  "menu",
  "menubar",
]);

/** Class or id words that mark chrome in common CMS themes (Drupal, WordPress, AddToAny). */
const CHROME_CLASS =
  /(?:^|[\s_-])(?:cookies?|consent|gdpr|share|sharing|sharethis|addtoany|a2a_kit|social|breadcrumbs?|related|pager|pagination|sidebar|newsletter|subscribe|skip-link|visually-hidden|sr-only|element-invisible|menu|navbar|tags?)(?=[\s_-]|$)/i;

const CONTAINERS = new Set([
  "#root",
  "html",
  "body",
  "main",
  "article",
  "section",
  "div",
  "header",
  "table",
  "thead",
  "tbody",
  "tfoot",
  "tr",
  "dl",
  "details",
  "center",
  "hgroup",
  "fieldset",
  "li",
  "ul",
  "ol",
]);

const PARAGRAPH_LIKE = new Set(["p", "pre", "dt", "dd", "address", "caption", "figcaption", "summary", "legend"]);

export function readHtmlPage(html: string, fallbackUrl?: string): ScrapedPage {
  const root = parseHtml(html);
  const meta = readMeta(root);
  const heading = findTitleHeading(root);
  const collected = collectBlocks(contentRoot(root, heading), heading, meta.url ?? fallbackUrl);

  const { body, contactGroups, statedDate } = splitSections(collected.blocks);
  const publishedAt = normaliseMachineDate(meta.publishedTime) ?? normaliseMachineDate(collected.time) ?? statedDate;
  const title = heading ? textOf(heading) : (meta.ogTitle ?? withoutSiteName(meta.title, meta.siteName));
  return {
    title: title || undefined,
    body,
    contactGroups,
    ...(publishedAt && { publishedAt }),
    ...(meta.language && { language: meta.language }),
    ...(meta.url && { url: meta.url }),
  };
}

// ---- page metadata -------------------------------------------------------------------------

interface PageMeta {
  title?: string;
  ogTitle?: string;
  siteName?: string;
  url?: string;
  publishedTime?: string;
  language?: string;
}

function readMeta(root: HtmlElement): PageMeta {
  const meta: PageMeta = {};
  for (const el of elements(root)) {
    const a = el.attrs;
    if (el.tag === "html" && a.lang) meta.language ??= normaliseLanguage(a.lang);
    else if (el.tag === "title") meta.title ??= textOf(el);
    else if (el.tag === "link" && /\bcanonical\b/i.test(a.rel ?? "")) meta.url ??= absoluteUrl(a.href);
    else if (el.tag === "meta")
      readMetaTag(meta, (a.property ?? a.name ?? "").toLowerCase(), collapseWhitespace(a.content ?? ""));
  }
  return meta;
}

function readMetaTag(meta: PageMeta, key: string, content: string): void {
  if (!content) return;
  if (key === "og:title") meta.ogTitle ??= content;
  else if (key === "og:site_name") meta.siteName ??= content;
  else if (key === "og:url") meta.url ??= absoluteUrl(content);
  else if (key === "article:published_time") meta.publishedTime ??= content;
}

/** "en-us" and "en_GB" become "en-US" and "en-GB"; a code ICU does not know is dropped. */
function normaliseLanguage(lang: string): string | undefined {
  const [primary, region] = lang.trim().replace(/_/g, "-").split("-");
  if (!primary || !/^[a-z]{2}$/i.test(primary)) return undefined;
  return region && /^[a-z]{2}$/i.test(region)
    ? `${primary.toLowerCase()}-${region.toUpperCase()}`
    : primary.toLowerCase();
}

function absoluteUrl(href: string | undefined): string | undefined {
  try {
    const url = new URL(href ?? "");
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** "Title | Site" loses " | Site"; a dash-separated suffix only when it is the og:site_name. */
function withoutSiteName(title: string | undefined, siteName: string | undefined): string | undefined {
  if (!title) return undefined;
  const piped = title.replace(/\s+\|\s+[^|]*$/, "").trim();
  if (piped !== title) return piped || undefined;
  if (!siteName) return title;
  const dashed = title.split(/\s+[-–—]\s+/);
  const last = dashed[dashed.length - 1]!;
  return dashed.length > 1 && last.toLowerCase() === siteName.toLowerCase() ? dashed.slice(0, -1).join(" - ") : title;
}

// ---- where the release is ------------------------------------------------------------------

function isChrome(el: HtmlElement): boolean {
  const a = el.attrs;
  if (DROPPED_TAGS.has(el.tag)) return true;
  // A page-level <header> is the site banner; a <header> inside the article holds its title.
  if (el.tag === "header" && !ancestors(el).some(isMainContent)) return true;
  if ("hidden" in a || a["aria-hidden"] === "true" || /display\s*:\s*none/i.test(a.style ?? "")) return true;
  if (CHROME_ROLES.has((a.role ?? "").toLowerCase())) return true;
  return CHROME_CLASS.test(`${a.class ?? ""} ${a.id ?? ""}`);
}

function isMainContent(el: HtmlElement): boolean {
  return el.tag === "main" || el.tag === "article" || el.attrs.role === "main";
}

function isInChrome(el: HtmlElement): boolean {
  return isChrome(el) || ancestors(el).some(isChrome);
}

/** The release's <h1>: the first one outside the site chrome (a logo <h1> sits in the header). */
function findTitleHeading(root: HtmlElement): HtmlElement | undefined {
  for (const el of elements(root)) if (el.tag === "h1" && !isInChrome(el) && textOf(el)) return el;
  return undefined;
}

/** The <main> holding the title (or the title's <article>), else the page's <main> or <body>. */
function contentRoot(root: HtmlElement, heading: HtmlElement | undefined): HtmlElement {
  if (heading) {
    const around = ancestors(heading);
    return around.find((el) => el.tag === "main" || el.attrs.role === "main") ?? around.find(isMainContent) ?? root;
  }
  const all = [...elements(root)];
  const articles = all.filter((el) => el.tag === "article" && !isInChrome(el));
  return (
    all.find((el) => (el.tag === "main" || el.attrs.role === "main") && !isInChrome(el)) ??
    (articles.length === 1 ? articles[0] : undefined) ??
    all.find((el) => el.tag === "body") ??
    root
  );
}

// ---- blocks --------------------------------------------------------------------------------

class BlockCollector {
  readonly blocks: Block[] = [];
  private inlines: Inline[] = [];

  text(text: string): void {
    this.inlines.push({ text: text.replace(/[\s\u00a0]+/g, " ") });
  }

  link(text: string, href: string): void {
    this.inlines.push({ text, href });
  }

  lineBreak(): void {
    this.inlines.push({ br: true });
  }

  /** Ends the open run of inline content; two <br> in a row separate paragraphs. */
  flush(kind: "p" | "h2" | "h3" | "h4" = "p"): void {
    for (const run of splitAtDoubleBreaks(this.inlines)) {
      const inlines = tidy(run);
      if (inlines.length) this.blocks.push({ kind, inlines });
    }
    this.inlines = [];
  }

  add(block: Block): void {
    this.flush();
    this.blocks.push(block);
  }

  /** Whether text is already collected: a paragraph has started. */
  hasText(): boolean {
    return this.blocks.some((b) => b.kind === "p") || this.inlines.some((i) => !("br" in i) && i.text.trim() !== "");
  }
}

interface Walk {
  heading: HtmlElement | undefined;
  base: string | undefined;
  top: BlockCollector;
  /** The first <time datetime> above the first paragraph: the page's own date. */
  time?: string;
}

function collectBlocks(scope: HtmlElement, heading: HtmlElement | undefined, base: string | undefined) {
  const top = new BlockCollector();
  const walk: Walk = { heading, base, top };
  visit(scope, top, walk);
  top.flush();
  return { blocks: top.blocks, time: walk.time };
}

function visit(node: HtmlNode, out: BlockCollector, walk: Walk): void {
  if (node.kind === "text") {
    out.text(node.text);
    return;
  }
  const el = node;
  if (el !== walk.heading && isChrome(el)) return;
  if (el === walk.heading) {
    // Everything above the title (breadcrumbs that escaped, kickers) is not the release.
    out.flush();
    walk.top.blocks.length = 0;
    return;
  }
  if (el.tag === "time" && el.attrs.datetime && !walk.time && !walk.top.hasText() && !out.hasText()) {
    walk.time = el.attrs.datetime;
  }
  visitElement(el, out, walk);
}

function visitElement(el: HtmlElement, out: BlockCollector, walk: Walk): void {
  const children = () => {
    for (const child of el.children) visit(child, out, walk);
  };
  const heading = /^h([1-6])$/.exec(el.tag);
  if (el.tag === "br") {
    out.lineBreak();
  } else if (heading) {
    out.flush();
    children();
    out.flush(headingKind(Number(heading[1])));
  } else if (PARAGRAPH_LIKE.has(el.tag)) {
    out.flush();
    children();
    out.flush();
  } else if ((el.tag === "ul" || el.tag === "ol") && hasItems(el)) {
    const items = listItems(el, walk);
    if (items.length) out.add({ kind: el.tag, items });
  } else if (el.tag === "blockquote") {
    const inner = collectInto(el, walk);
    if (inner.length) out.add({ kind: "blockquote", blocks: inner });
  } else if (el.tag === "a" && linkTarget(el.attrs.href, walk.base)) {
    const text = visibleText(el);
    if (text) out.link(text, linkTarget(el.attrs.href, walk.base)!);
  } else if (el.tag === "td" || el.tag === "th") {
    children();
    out.text(" ");
  } else if (CONTAINERS.has(el.tag)) {
    out.flush();
    children();
    out.flush();
  } else {
    children();
  }
}

/** The release body keeps h2-h4: an <h1> or <h2> inside it is a section heading. */
function headingKind(level: number): "h2" | "h3" | "h4" {
  return level <= 2 ? "h2" : level === 3 ? "h3" : "h4";
}

function hasItems(list: HtmlElement): boolean {
  return list.children.some((c) => c.kind === "element" && c.tag === "li");
}

function collectInto(el: HtmlElement, walk: Walk): Block[] {
  const inner = new BlockCollector();
  for (const child of el.children) visit(child, inner, walk);
  inner.flush();
  return inner.blocks;
}

/** Each <li> becomes one item; paragraphs or lists nested inside it are joined by line breaks. */
function listItems(list: HtmlElement, walk: Walk): Inline[][] {
  const items: Inline[][] = [];
  for (const child of list.children) {
    if (child.kind !== "element" || child.tag !== "li" || isChrome(child)) continue;
    const inlines = collectInto(child, walk).flatMap((b, i) => [...(i ? [{ br: true } as const] : []), ...flatten(b)]);
    if (inlines.length) items.push(inlines);
  }
  return items;
}

function flatten(block: Block): Inline[] {
  switch (block.kind) {
    case "ul":
    case "ol":
      return block.items.flatMap((item, i) => [...(i ? [{ br: true } as const] : []), ...item]);
    case "blockquote":
      return block.blocks.flatMap(flatten);
    default:
      return block.inlines;
  }
}

/** Text of an element without its chrome (screen-reader-only spans, icons). */
function visibleText(el: HtmlElement): string {
  const parts: string[] = [];
  const walkText = (n: HtmlNode) => {
    if (n.kind === "text") parts.push(n.text);
    else if (!isChrome(n)) for (const c of n.children) walkText(c);
  };
  for (const c of el.children) walkText(c);
  return collapseWhitespace(parts.join(""));
}

/** Absolute http(s) or mailto targets only; fragments, scripts and unresolved paths lose the link. */
function linkTarget(href: string | undefined, base: string | undefined): string | undefined {
  const raw = href?.trim();
  if (!raw || raw.startsWith("#")) return undefined;
  try {
    const url = new URL(raw, base);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function splitAtDoubleBreaks(inlines: Inline[]): Inline[][] {
  const runs: Inline[][] = [[]];
  let breaks = 0;
  for (const inline of inlines) {
    if ("br" in inline) breaks++;
    else if (!inline.href && !inline.text.trim()) {
      // whitespace between breaks does not separate them
    } else {
      if (breaks >= 2) runs.push([]);
      else if (breaks === 1) runs[runs.length - 1]!.push({ br: true });
      breaks = 0;
    }
    if (!("br" in inline)) runs[runs.length - 1]!.push(inline);
  }
  return runs;
}

/** Merges adjacent text, collapses spaces and trims the run's ends. */
function tidy(run: Inline[]): Inline[] {
  const out: Inline[] = [];
  for (const inline of run) {
    const last = out[out.length - 1];
    if (!("br" in inline) && !inline.href && last && !("br" in last) && !last.href) last.text += inline.text;
    else out.push("br" in inline ? inline : { ...inline });
  }
  for (const inline of out) if (!("br" in inline)) inline.text = inline.text.replace(/\s+/g, " ");
  const first = out[0];
  if (first && !("br" in first) && !first.href) first.text = first.text.trimStart();
  const last = out[out.length - 1];
  if (last && !("br" in last) && !last.href) last.text = last.text.trimEnd();
  const kept = out.filter((i) => "br" in i || i.text !== "");
  while (kept.length && "br" in kept[0]!) kept.shift();
  while (kept.length && "br" in kept[kept.length - 1]!) kept.pop();
  return kept;
}

// ---- sections ------------------------------------------------------------------------------

/**
 * Splits the blocks after the title into body and contact section. Widget lines and date
 * lines come out of the body; the body ends at the contact intro or at a footer marker
 * ("Related news"), and the contact section ends at the next footer marker.
 */
function splitSections(blocks: Block[]): { body: Block[]; contactGroups: string[][]; statedDate?: string } {
  let statedDate: string | undefined;
  const kept = blocks.filter((block, i) => {
    const text = blockText(block);
    const kind = dateLineKind(text);
    if (kind === "labelled" || (kind === "bare" && i < 2)) {
      statedDate ??= parseDateLine(text);
      return false;
    }
    return !isWidgetLine(text);
  });
  const opens = (test: (line: string) => boolean) => (b: Block) => test(blockText(b).split("\n", 1)[0] ?? "");
  const contactAt = findFrom(kept, 0, opens(isContactIntro));
  const footerAt = findFrom(kept, 0, opens(isFooterMarker));
  const contactEnd = findFrom(kept, contactAt + 1, opens(isFooterMarker));
  return {
    body: kept.slice(0, Math.min(contactAt, footerAt)),
    contactGroups: kept.slice(contactAt, contactEnd).map((b) => blockText(b).split("\n")),
    ...(statedDate && { statedDate }),
  };
}

/** Index of the first item from `from` that passes, or items.length. */
function findFrom<T>(items: T[], from: number, test: (item: T) => boolean): number {
  for (let i = from; i < items.length; i++) if (test(items[i]!)) return i;
  return items.length;
}
