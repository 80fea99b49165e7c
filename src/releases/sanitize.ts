// Release bodies arrive from a CMS, a scraped page or a person: whatever they contain, what
// Herald stores, mails and syndicates is this allow-list and nothing else.
import { createRequire } from "node:module";
import type { convert as Convert } from "html-to-text";
import type sanitizeHtmlType from "sanitize-html";
import { invalid } from "../errors.ts";

// The two libraries (and the HTML parser under them, ~15 MB of a process) load on first use:
// every renderer imports this module for escapeHtml, and worker processes never sanitise a body.
const require = createRequire(import.meta.url);
let libraries: { sanitizeHtml: typeof sanitizeHtmlType; convert: typeof Convert } | undefined;
function libs(): NonNullable<typeof libraries> {
  libraries ??= {
    sanitizeHtml: require("sanitize-html") as typeof sanitizeHtmlType,
    convert: (require("html-to-text") as { convert: typeof Convert }).convert,
  };
  return libraries;
}

const ALLOWED: sanitizeHtmlType.IOptions = {
  allowedTags: ["p", "a", "strong", "em", "b", "i", "ul", "ol", "li", "h2", "h3", "h4", "blockquote", "img", "br"],
  allowedAttributes: { a: ["href"], img: ["src", "alt"] },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: { img: ["http", "https"] },
  allowProtocolRelative: false,
  // Script and style contents are dropped with their tags, not turned into text.
  nonTextTags: ["script", "style", "textarea", "option", "noscript", "iframe", "object"],
  disallowedTagsMode: "discard",
  transformTags: { b: "strong", i: "em" },
  // An image needs an absolute http(s) source: a relative one means nothing in an email or a feed.
  exclusiveFilter: (frame) => frame.tag === "img" && !/^https?:\/\//i.test(frame.attribs.src ?? ""),
};

const HTML_TAG = /<\/?[a-z][a-z0-9]*(\s[^>]*)?\/?>/i;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "#39" }[c]};`);
}

/** Characters XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
const XML_INVALID =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function stripInvalidChars(s: string): string {
  return s.replace(XML_INVALID, "");
}

/** Plain text (paragraphs separated by blank lines) to escaped <p> paragraphs. */
export function textToHtml(text: string): string {
  return text
    .split(/\r?\n\s*\r?\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${escapeHtml(p).replace(/\r?\n/g, "<br>")}</p>`)
    .join("\n");
}

/** A body as given (HTML or plain text) to the allow-listed HTML Herald stores. */
export function sanitizeBody(body: string): string {
  const clean = stripInvalidChars(body);
  const html = HTML_TAG.test(clean) ? clean : textToHtml(clean);
  return libs().sanitizeHtml(html, ALLOWED).trim();
}

/** Elements nested deeper than this are refused: no release needs it, and html-to-text recurses. */
export const MAX_BODY_DEPTH = 100;

/** How deep elements nest in sanitised HTML (well-formed: sanitize-html closes what it opens). */
export function nestingDepth(html: string): number {
  let depth = 0;
  let max = 0;
  for (const m of html.matchAll(/<(\/?)([a-z][a-z0-9]*)\b[^>]*>/gi)) {
    if (VOID_TAGS.has(m[2]!.toLowerCase())) continue;
    depth += m[1] ? -1 : 1;
    if (depth > max) max = depth;
  }
  return max;
}

/**
 * Raw input nested deeper than this is refused before sanitize-html sees it: its cost grows with
 * the square of the depth of unclosed elements (100,000 unclosed <b> take minutes).
 */
export const MAX_RAW_DEPTH = 500;
/** HTML's void elements (no end tag); the importer's HTML parser (import/html-parser.ts) uses the same list. */
export const VOID_TAGS: ReadonlySet<string> = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "param",
  "source",
  "track",
  "wbr",
]);
// Elements a parser closes when a sibling opens (`<p>a<p>b`, `<li>a<li>b`): they never pile up.
const RAW_SIBLING_CLOSED = new Set([
  "p",
  "li",
  "dt",
  "dd",
  "tr",
  "td",
  "th",
  "option",
  "optgroup",
  "thead",
  "tbody",
  "tfoot",
  "rt",
  "rp",
  "colgroup",
]);

/**
 * How deep elements nest in raw HTML, read roughly as a parser does (a closing tag closes
 * everything opened since its element, one with no open element is ignored, a new <p> or <li>
 * closes the open one), in one linear pass.
 */
export function rawNestingDepth(html: string): number {
  const stack: string[] = [];
  const open = new Map<string, number>();
  const closeTo = (name: string) => {
    let top: string;
    do {
      top = stack.pop()!;
      open.set(top, open.get(top)! - 1);
    } while (top !== name);
  };
  let max = 0;
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(\/?)>/g)) {
    const name = m[2]!.toLowerCase();
    if (VOID_TAGS.has(name)) continue;
    if (m[1]) {
      if (open.get(name)) closeTo(name);
      continue;
    }
    if (m[3]) continue;
    if (RAW_SIBLING_CLOSED.has(name) && open.get(name)) closeTo(name);
    stack.push(name);
    open.set(name, (open.get(name) ?? 0) + 1);
    if (stack.length > max) max = stack.length;
  }
  return max;
}

export interface RenderedBody {
  /** Allow-listed HTML (sanitizeBody). */
  html: string;
  /** Its plain text (htmlToText). */
  text: string;
}

/**
 * The stored forms of a release body. Costly for a large body (about a second of CPU for 1 MB of
 * small tags), so the service runs it on a worker thread (sanitize-pool.ts). Throws for a body
 * nested deeper than MAX_BODY_DEPTH.
 */
export function renderBody(body: string): RenderedBody {
  if (rawNestingDepth(body) > MAX_RAW_DEPTH) {
    throw invalid(`invalid release: body: elements are nested more than ${MAX_RAW_DEPTH} deep (unclosed tags?)`, [
      { path: "body", message: `elements are nested more than ${MAX_RAW_DEPTH} deep` },
    ]);
  }
  const html = sanitizeBody(body);
  if (nestingDepth(html) > MAX_BODY_DEPTH) {
    throw invalid(`invalid release: body: elements are nested more than ${MAX_BODY_DEPTH} deep`, [
      { path: "body", message: `elements are nested more than ${MAX_BODY_DEPTH} deep` },
    ]);
  }
  return { html, text: htmlToText(html) };
}

function stripOnce(s: string): string {
  return libs()
    .sanitizeHtml(s, { allowedTags: [], allowedAttributes: {}, nonTextTags: ALLOWED.nonTextTags })
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

/**
 * Plain text of any field that must not carry markup (summary, names, notes). Entities are
 * decoded, so the stored text is what a person reads; and because decoding can make a tag
 * (`&lt;script&gt;`), stripping repeats until nothing changes. Feed readers and partner CMSs
 * often render "plain" fields such as an RSS title as HTML, so no stored text may read as a tag.
 */
export function stripTags(s: string): string {
  let text = stripInvalidChars(s);
  for (let pass = 0; pass < 10; pass++) {
    const next = stripOnce(text);
    if (next === text) return text.trim();
    text = next;
  }
  // Still changing after ten layers of encoding: keep it encoded rather than decode into a tag.
  return libs().sanitizeHtml(text, { allowedTags: [], allowedAttributes: {}, nonTextTags: ALLOWED.nonTextTags }).trim();
}

/** stripTags for one-line fields (title, dateline, names, image alt): whitespace collapsed. */
export function oneLineText(s: string): string {
  return stripTags(s).replace(/\s+/g, " ").trim();
}

// Every element name HTML, SVG and MathML define (and the obsolete ones browsers still parse):
// a "tag" with one of these names in a title is markup pasted from a CMS and is removed; any
// other bracketed word (`<Test>`, `</Draft>`) is text a person typed and is kept as text.
const HTML_ELEMENTS = new Set(
  (
    "a abbr acronym address applet area article aside audio b base basefont bdi bdo bgsound big blink blockquote body br button " +
    "canvas caption center cite code col colgroup data datalist dd del details dfn dialog dir div dl dt em embed fieldset " +
    "figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe image img input ins " +
    "isindex kbd keygen label legend li link listing main map mark marquee math menu menuitem meta meter multicol nav nextid nobr " +
    "noembed noframes noscript object ol optgroup option output p param picture plaintext pre progress q rb rp rt rtc ruby s samp " +
    "script search section select slot small source spacer span strike strong style sub summary sup svg table tbody td template " +
    "textarea tfoot th thead time title tr track tt u ul var video wbr xmp animate circle clippath defs desc ellipse " +
    "foreignobject g line lineargradient marker mask path pattern polygon polyline radialgradient rect set stop symbol text " +
    "textpath tspan use view mi mn mo ms mtext mrow mfrac msqrt mroot mstyle merror mpadded mphantom mtable mtr mtd annotation"
  ).split(" "),
);
// A bare bracketed word: no attributes, so it cannot carry a handler even where it is read as HTML.
const BRACKETED_WORD = /<(\/?)([A-Za-z][A-Za-z0-9-]*)\s*(\/?)>/g;
const LT = "\ue000";
const GT = "\ue001";

/**
 * A title as text: markup (real HTML elements, however encoded) is removed as in oneLineText,
 * but a bracketed word that is not an HTML element (`Call for <Test> entries`) is the person's
 * text and is kept; every renderer escapes it (Atom type="text", HTML, JSON, mail headers).
 */
export function titleText(s: string): string {
  const marked = stripInvalidChars(s)
    .replace(/[\ue000\ue001]/g, "")
    .replace(/&lt;|&#0*60;|&#x0*3c;/gi, "<")
    .replace(/&gt;|&#0*62;|&#x0*3e;/gi, ">")
    .replace(BRACKETED_WORD, (m, close: string, name: string, self: string) =>
      HTML_ELEMENTS.has(name.toLowerCase()) ? m : `${LT}${close}${name}${self}${GT}`,
    );
  return oneLineText(marked).replaceAll(LT, "<").replaceAll(GT, ">");
}

/** The plain-text rendering of sanitised HTML, for text emails and ninjs text/plain bodies. */
export function htmlToText(html: string): string {
  // Escaped text in the HTML (`&lt;b&gt;`) decodes to tag-like text here: strip it as well.
  return stripTags(
    libs().convert(html, {
      wordwrap: false,
      selectors: [
        { selector: "a", options: { hideLinkHrefIfSameAsText: true } },
        { selector: "img", format: "skip" },
        { selector: "h2", options: { uppercase: false } },
        { selector: "h3", options: { uppercase: false } },
        { selector: "h4", options: { uppercase: false } },
      ],
    }),
  );
}
