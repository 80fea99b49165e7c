// Release bodies arrive from a CMS, a scraped page or a person: whatever they contain, what
// Herald stores, mails and syndicates is this allow-list and nothing else.
import { convert } from "html-to-text";
import sanitizeHtml from "sanitize-html";

const ALLOWED: sanitizeHtml.IOptions = {
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
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

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
  return sanitizeHtml(html, ALLOWED).trim();
}

/** Plain text of any field that must not carry markup (summary, names). */
export function stripTags(s: string): string {
  return sanitizeHtml(stripInvalidChars(s), { allowedTags: [], allowedAttributes: {}, nonTextTags: ALLOWED.nonTextTags })
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .trim();
}

/** The plain-text rendering of sanitised HTML, for text emails and ninjs text/plain bodies. */
export function htmlToText(html: string): string {
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: "a", options: { hideLinkHrefIfSameAsText: true } },
      { selector: "img", format: "skip" },
      { selector: "h2", options: { uppercase: false } },
      { selector: "h3", options: { uppercase: false } },
      { selector: "h4", options: { uppercase: false } },
    ],
  }).trim();
}
