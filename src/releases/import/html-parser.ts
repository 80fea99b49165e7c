// The HTML parser for scraped press-release pages: htmlparser2's tokenizer (the lexer that
// sanitize-html also runs on: tags, attributes and their quoting, comments, raw-text script and
// style, RCDATA title and textarea, the full HTML5 named and numeric character references) feeds
// a small tree builder kept here, which gives the importer a tree of elements and text. It
// implements just enough of the WHATWG tree-building rules (void elements, implied </p>, </li>,
// </dt>, </dd>, a stray </br> read as <br>) for the importer, which only reads text, a few
// attributes and which element contains which. Only script, style, title and textarea are raw
// text (the tokenizer's set); noscript and iframe content is read as markup, and the importer
// drops those subtrees whole (html-page.ts), as it did when they were raw text.
//
// Why the tree builder is not htmlparser2's Parser: its open-element stack grows with
// Array#unshift and is searched with indexOf, so deep nesting takes quadratic time. Measured
// (`node` on htmlparser2 10.1.0, 2 MB pages, this machine): 400,000 nested <div> 100 s, 333,000
// <b><p> pairs 215 s, 200,000 nested <div> then stray </span> 65 s. The builder below never
// looks deeper than MAX_DEPTH elements, so every page is read in linear time.
import { Tokenizer, type TokenizerCallbacks } from "htmlparser2";
import { VOID_TAGS } from "../sanitize.ts";

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

/** Starting one of these closes an open <p>, as browsers do. */
const CLOSES_P = new Set([
  "address",
  "article",
  "aside",
  "blockquote",
  "details",
  "div",
  "dl",
  "fieldset",
  "figure",
  "footer",
  "form",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "header",
  "hr",
  "main",
  "menu",
  "nav",
  "ol",
  "p",
  "pre",
  "section",
  "table",
  "ul",
]);

/** Phrasing elements may sit between an open <p> and the block that closes it. */
const PHRASING = new Set([
  "a",
  "abbr",
  "b",
  "bdi",
  "bdo",
  "cite",
  "code",
  "data",
  "dfn",
  "em",
  "font",
  "i",
  "kbd",
  "mark",
  "q",
  "s",
  "samp",
  "small",
  "span",
  "strong",
  "sub",
  "sup",
  "time",
  "u",
  "var",
]);

/** Deeper nesting than this is flattened, so hostile pages cannot overflow the walkers' stack. */
const MAX_DEPTH = 256;

export function parseHtml(html: string): HtmlElement {
  const builder = new TreeBuilder(html);
  const tokenizer = new Tokenizer({ decodeEntities: true }, builder);
  tokenizer.write(html);
  tokenizer.end();
  return builder.root;
}

/** Builds the tree from the tokenizer's events (each names a slice of the page, or a decoded character). */
class TreeBuilder implements TokenizerCallbacks {
  readonly root: HtmlElement = { kind: "element", tag: "#root", attrs: {}, children: [], parent: undefined };
  private readonly stack: HtmlElement[] = [this.root];
  private tag = "";
  private attrs: Record<string, string> = {};
  private attrName = "";
  private attrValue = "";

  constructor(private readonly html: string) {}

  private top(): HtmlElement {
    return this.stack[this.stack.length - 1]!;
  }

  private addText(text: string): void {
    if (!text) return;
    const siblings = this.top().children;
    const last = siblings[siblings.length - 1];
    if (last?.kind === "text") last.text += text;
    else siblings.push({ kind: "text", text });
  }

  ontext(start: number, end: number): void {
    this.addText(this.html.slice(start, end));
  }

  ontextentity(codepoint: number): void {
    this.addText(String.fromCodePoint(codepoint));
  }

  onopentagname(start: number, end: number): void {
    this.tag = this.html.slice(start, end).toLowerCase();
    this.attrs = {};
  }

  onattribname(start: number, end: number): void {
    this.attrName = this.html.slice(start, end).toLowerCase();
    this.attrValue = "";
  }

  onattribdata(start: number, end: number): void {
    this.attrValue += this.html.slice(start, end);
  }

  onattribentity(codepoint: number): void {
    this.attrValue += String.fromCodePoint(codepoint);
  }

  onattribend(): void {
    // The first of a repeated attribute wins, as in browsers; own keys only ("constructor").
    if (!Object.hasOwn(this.attrs, this.attrName)) this.attrs[this.attrName] = this.attrValue;
  }

  onopentagend(): void {
    const el = openElement(this.stack, this.tag, this.attrs);
    if (VOID_TAGS.has(this.tag) && this.top() === el) this.stack.pop();
  }

  /** `<tag/>` closes at once, whatever the tag (the tokenizer has already left raw-text mode). */
  onselfclosingtag(): void {
    const el = openElement(this.stack, this.tag, this.attrs);
    if (this.top() === el) this.stack.pop();
  }

  onclosetag(start: number, end: number): void {
    const tag = this.html.slice(start, end).toLowerCase();
    // Browsers read a stray </br> as <br>; old CMS templates still emit it.
    if (tag === "br") {
      const br = openElement(this.stack, "br", {});
      if (this.top() === br) this.stack.pop();
    } else if (!VOID_TAGS.has(tag)) closeElement(this.stack, tag);
  }

  // Comments, doctypes, processing instructions and CDATA carry nothing the importer reads.
  oncomment(): void {}
  oncdata(): void {}
  ondeclaration(): void {}
  onprocessinginstruction(): void {}
  onend(): void {}
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
