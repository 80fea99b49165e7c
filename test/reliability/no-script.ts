// "No script reaches any output", checked on parsed content: every string a feed, page or
// webhook carries is decoded by a real parser first (XML entities, JSON escapes) and then read
// as HTML by htmlparser2 (through sanitize-html's parser hook), because feed readers and partner
// CMSs render titles and descriptions as HTML. A `&lt;script&gt;` that decodes to a tag counts.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import sanitizeHtml from "sanitize-html";

const ACTIVE_TAGS = new Set([
  "script",
  "iframe",
  "object",
  "embed",
  "frame",
  "frameset",
  "applet",
  "base",
  "svg",
  "math",
]);
const URL_ATTRS = new Set([
  "href",
  "src",
  "action",
  "formaction",
  "xlink:href",
  "data",
  "poster",
  "background",
  "srcset",
]);
const BAD_SCHEME = /^\s*(javascript|vbscript|data|livescript):/i;

/** What is active in one HTML string: script-like tags, event handlers, script URLs. */
export function activeContent(html: string): string[] {
  const found: string[] = [];
  sanitizeHtml(html, {
    allowedTags: false,
    allowedAttributes: false,
    allowVulnerableTags: true,
    onOpenTag: (name, attribs) => {
      if (ACTIVE_TAGS.has(name)) found.push(`<${name}>`);
      for (const [attr, value] of Object.entries(attribs)) {
        if (/^on/i.test(attr)) found.push(`${name} ${attr}=`);
        // htmlparser2 has decoded entities; also drop the control characters browsers ignore.
        if (URL_ATTRS.has(attr.toLowerCase()) && BAD_SCHEME.test(value.replace(/[\u0000-\u001f\s]/g, "")))
          found.push(`${name} ${attr}=${value.slice(0, 40)}`);
        if (attr.toLowerCase() === "srcdoc") found.push(`${name} srcdoc=`);
      }
    },
  });
  return found;
}

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) strings(x, out);
  return out;
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  processEntities: { maxTotalExpansions: 1_000_000, maxEntityCount: 1_000_000 },
  htmlEntities: true,
  parseTagValue: false,
  trimValues: false,
  cdataPropName: false,
});

/** Every active thing in a document: HTML as it is, XML and JSON after decoding every value. */
export function activeIn(kind: "html" | "xml" | "json", doc: string): string[] {
  if (kind === "html") return activeContent(doc);
  if (kind === "xml" && XMLValidator.validate(doc) !== true) return ["not well-formed XML"];
  const values = strings(kind === "xml" ? xml.parse(doc) : JSON.parse(doc));
  return values.flatMap((s) => activeContent(s).map((a) => `${a} in ${JSON.stringify(s.slice(0, 60))}`));
}
