// A small, forgiving HTML reader for scraped press-release pages.
// It implements just enough of the WHATWG tree-building rules (void elements, raw-text
// script/style, implied </p> and </li>) to give the importer a tree of elements and text.
// It is not a conforming parser and never needs to be: the importer only reads text, a few
// attributes and which element contains which.

export interface HtmlElement {
  kind: "element";
  tag: string;
  attrs: Record<string, string>;
  children: HtmlNode[];
  parent: HtmlElement | undefined;
}

export interface HtmlText {
  kind: "text";
  text: string;
}

export type HtmlNode = HtmlElement | HtmlText;

const VOID_TAGS = new Set([
  "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
  "source", "track", "wbr",
]);

/** Elements whose content is not markup: everything up to the matching end tag is one text. */
const RAW_TEXT_TAGS = new Set(["script", "style", "textarea", "title", "noscript", "xmp", "iframe", "noembed", "noframes"]);

/** Starting one of these closes an open <p>, as browsers do. */
const CLOSES_P = new Set([
  "address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset", "figure",
  "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "menu", "nav",
  "ol", "p", "pre", "section", "table", "ul",
]);

/** Phrasing elements may sit between an open <p> and the block that closes it. */
const PHRASING = new Set([
  "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "mark",
  "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
]);

/** Deeper nesting than this is flattened, so hostile pages cannot overflow the walkers' stack. */
const MAX_DEPTH = 256;

export function parseHtml(html: string): HtmlElement {
  const root: HtmlElement = { kind: "element", tag: "#root", attrs: {}, children: [], parent: undefined };
  const stack: HtmlElement[] = [root];
  const top = () => stack[stack.length - 1]!;
  const find = new Finder(html);
  let pos = 0;

  const addText = (raw: string, decode = true) => {
    if (raw) top().children.push({ kind: "text", text: decode ? decodeEntities(raw) : raw });
  };

  while (pos < html.length) {
    const lt = find.next("<", pos);
    if (lt < 0) {
      addText(html.slice(pos));
      break;
    }
    addText(html.slice(pos, lt));
    pos = lt;

    if (html.startsWith("<!--", pos)) {
      const end = find.next("-->", pos + 4);
      pos = end < 0 ? html.length : end + 3;
      continue;
    }
    if (html.startsWith("<!", pos) || html.startsWith("<?", pos)) {
      const end = find.next(">", pos);
      pos = end < 0 ? html.length : end + 1;
      continue;
    }

    const endTag = END_TAG_RE.exec(html.slice(pos, pos + 200));
    if (endTag) {
      const tag = endTag[1]!.toLowerCase();
      // Browsers read a stray </br> as <br>; old CMS templates still emit it.
      if (tag === "br") {
        const br = openElement(stack, "br", {});
        if (top() === br) stack.pop();
      } else {
        closeElement(stack, tag);
      }
      pos += endTag[0].length;
      continue;
    }

    const start = readStartTag(html, pos, find);
    if (!start) {
      addText("<");
      pos += 1;
      continue;
    }
    pos = start.end;
    const el = openElement(stack, start.tag, start.attrs);
    if (RAW_TEXT_TAGS.has(start.tag) && !start.selfClosing) {
      const close = findRawTextEnd(html, pos, start.tag, find);
      addText(html.slice(pos, close.contentEnd), start.tag === "title" || start.tag === "textarea");
      pos = close.resume;
      if (top() === el) stack.pop();
    } else if (VOID_TAGS.has(start.tag) || start.selfClosing) {
      if (top() === el) stack.pop();
    }
  }
  return root;
}

const END_TAG_RE = /^<\/([a-zA-Z][a-zA-Z0-9:-]*)[^>]*>/;
const TAG_NAME_RE = /^<([a-zA-Z][a-zA-Z0-9:-]*)/;
const ATTR_RE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

interface StartTag {
  tag: string;
  attrs: Record<string, string>;
  selfClosing: boolean;
  end: number;
}

/**
 * Forward searches over the page, remembered: the parser only moves forward, so once "the
 * next `>` after p is at g" (or "there is none") is known, it answers every search from
 * [p, g] too. Without this, a page full of unclosed quotes or tags takes quadratic time.
 */
class Finder {
  private readonly known = new Map<string, { from: number; at: number }>();

  constructor(private readonly html: string) {}

  next(needle: string, from: number, caseInsensitive = false): number {
    const key = caseInsensitive ? `i:${needle}` : needle;
    const seen = this.known.get(key);
    if (seen && from >= seen.from && (seen.at === -1 || from <= seen.at)) return seen.at;
    const at = caseInsensitive ? searchIgnoringCase(this.html, needle, from) : this.html.indexOf(needle, from);
    this.known.set(key, { from, at });
    return at;
  }
}

function searchIgnoringCase(html: string, needle: string, from: number): number {
  const re = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
  re.lastIndex = from;
  return re.exec(html)?.index ?? -1;
}

/**
 * Reads `<tag attr="…">` at pos: the tag ends at the first `>` outside quoted attribute
 * values. A quote that never closes makes the tag end at the next `>` instead, as a broken
 * scrape is likelier than a 100 KB attribute.
 */
function readStartTag(html: string, pos: number, find: Finder): StartTag | undefined {
  const name = TAG_NAME_RE.exec(html.slice(pos, pos + 100));
  if (!name) return undefined;
  const attrStart = pos + name[0].length;
  let i = attrStart;
  for (;;) {
    const gt = find.next(">", i);
    if (gt < 0) return undefined;
    const quote = firstQuoteBefore(i, gt, find);
    if (quote < 0) {
      i = gt;
      break;
    }
    // Only a quote right after "=" opens a value; in `title=O'Brien` it is a letter.
    if (!/=\s*$/.test(html.slice(Math.max(attrStart, quote - 20), quote))) {
      i = quote + 1;
      continue;
    }
    const close = find.next(html[quote]!, quote + 1);
    if (close < 0) {
      i = gt;
      break;
    }
    i = close + 1;
  }
  const attrText = html.slice(attrStart, i);
  const attrs: Record<string, string> = {};
  for (const m of attrText.matchAll(ATTR_RE)) {
    const key = m[1]!.toLowerCase();
    if (!(key in attrs)) attrs[key] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? "");
  }
  return { tag: name[1]!.toLowerCase(), attrs, selfClosing: /\/\s*$/.test(attrText), end: i + 1 };
}

function firstQuoteBefore(from: number, end: number, find: Finder): number {
  const double = find.next('"', from);
  const single = find.next("'", from);
  const first = Math.min(double < 0 ? Number.POSITIVE_INFINITY : double, single < 0 ? Number.POSITIVE_INFINITY : single);
  return first < end ? first : -1;
}

function findRawTextEnd(html: string, pos: number, tag: string, find: Finder): { contentEnd: number; resume: number } {
  const close = find.next(`</${tag}`, pos, true);
  if (close < 0) return { contentEnd: html.length, resume: html.length };
  const gt = find.next(">", close);
  return { contentEnd: close, resume: gt < 0 ? html.length : gt + 1 };
}

function openElement(stack: HtmlElement[], tag: string, attrs: Record<string, string>): HtmlElement {
  if (CLOSES_P.has(tag)) closeOpenParagraph(stack);
  if (tag === "li") closeOpenItem(stack, "li", ["ul", "ol", "menu"]);
  if (tag === "dt" || tag === "dd") closeOpenItem(stack, "dt", ["dl"]) || closeOpenItem(stack, "dd", ["dl"]);
  const parent = stack[stack.length - 1]!;
  const el: HtmlElement = { kind: "element", tag, attrs, children: [], parent };
  parent.children.push(el);
  if (stack.length < MAX_DEPTH) stack.push(el);
  return el;
}

/** An open <p> is closed by a block start when only phrasing elements are open inside it. */
function closeOpenParagraph(stack: HtmlElement[]): void {
  for (let i = stack.length - 1; i > 0; i--) {
    const tag = stack[i]!.tag;
    if (tag === "p") {
      stack.length = i;
      return;
    }
    if (!PHRASING.has(tag)) return;
  }
}

/** A new <li> closes the previous <li> of the same list (likewise <dt>/<dd>). */
function closeOpenItem(stack: HtmlElement[], item: string, lists: string[]): boolean {
  for (let i = stack.length - 1; i > 0; i--) {
    const tag = stack[i]!.tag;
    if (tag === item) {
      stack.length = i;
      return true;
    }
    if (lists.includes(tag)) return false;
  }
  return false;
}

/** Pops to the matching open element; a stray end tag with no open element is ignored. */
function closeElement(stack: HtmlElement[], tag: string): void {
  for (let i = stack.length - 1; i > 0; i--) {
    if (stack[i]!.tag === tag) {
      stack.length = i;
      return;
    }
  }
}

// Named character references: the HTML 4 Latin-1 set (code points 160-255, in order) plus
// the punctuation and symbols press-release CMSs actually emit. Unknown names stay as written.
const LATIN1_NAMES =
  "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn " +
  "sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave " +
  "Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml " +
  "ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN " +
  "szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute " +
  "icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml " +
  "yacute thorn yuml";

const NAMED_ENTITIES: Record<string, number> = {
  amp: 38, lt: 60, gt: 62, quot: 34, apos: 39, OElig: 338, oelig: 339, Scaron: 352, scaron: 353,
  Yuml: 376, fnof: 402, circ: 710, tilde: 732, ensp: 8194, emsp: 8195, thinsp: 8201, zwnj: 8204,
  zwj: 8205, lrm: 8206, rlm: 8207, ndash: 8211, mdash: 8212, lsquo: 8216, rsquo: 8217, sbquo: 8218,
  ldquo: 8220, rdquo: 8221, bdquo: 8222, dagger: 8224, Dagger: 8225, bull: 8226, hellip: 8230,
  permil: 8240, prime: 8242, Prime: 8243, lsaquo: 8249, rsaquo: 8250, euro: 8364, trade: 8482,
  larr: 8592, rarr: 8594, minus: 8722,
};
for (const [i, name] of LATIN1_NAMES.split(" ").entries()) NAMED_ENTITIES[name] = 160 + i;

/** Legacy references that browsers also accept without the trailing semicolon. */
const BARE_OK = new Set(["amp", "lt", "gt", "quot", "nbsp"]);

const ENTITY_RE = /&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,7})|([A-Za-z][A-Za-z0-9]{1,31}))(;?)/g;

export function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(ENTITY_RE, (whole, dec?: string, hex?: string, name?: string, semi?: string) => {
    if (name !== undefined) {
      const code = NAMED_ENTITIES[name];
      if (code === undefined || (!semi && !BARE_OK.has(name))) return whole;
      return String.fromCodePoint(code);
    }
    const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex!, 16);
    const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    return valid ? String.fromCodePoint(code) : "\uFFFD";
  });
}

// ---- tree helpers -------------------------------------------------------------------------

export function* elements(node: HtmlElement): Generator<HtmlElement> {
  // Iterative, so a flattened but very wide page cannot overflow the stack either.
  const pending: HtmlNode[] = [...node.children].reverse();
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (next.kind !== "element") continue;
    yield next;
    for (let i = next.children.length - 1; i >= 0; i--) pending.push(next.children[i]!);
  }
}

export function ancestors(el: HtmlElement): HtmlElement[] {
  const out: HtmlElement[] = [];
  for (let p = el.parent; p; p = p.parent) out.push(p);
  return out;
}

/** Text content with whitespace collapsed; <br> counts as a space. */
export function textOf(node: HtmlNode): string {
  const parts: string[] = [];
  const walk = (n: HtmlNode) => {
    if (n.kind === "text") parts.push(n.text);
    else if (n.tag === "br") parts.push(" ");
    else if (n.tag !== "script" && n.tag !== "style") for (const c of n.children) walk(c);
  };
  walk(node);
  return collapseWhitespace(parts.join(""));
}

export function collapseWhitespace(text: string): string {
  return text.replace(/[\s\u00a0]+/g, " ").trim();
}
