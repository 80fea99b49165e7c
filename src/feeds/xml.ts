// Escaping for hand-written XML. Text and attribute values are escaped, never wrapped in CDATA,
// so a `]]>` in a release is just text; characters XML 1.0 forbids are dropped first.
import { stripInvalidChars } from "../releases/sanitize.ts";

const TEXT: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };
const ATTR: Record<string, string> = {
  ...TEXT,
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/** Element content. `>` is escaped too, so `]]>` can never appear literally. */
export function xmlText(s: string): string {
  return stripInvalidChars(s).replace(/[&<>]/g, (c) => TEXT[c]!);
}

/** Attribute value (double-quoted); whitespace kept as character references. */
export function xmlAttr(s: string): string {
  return stripInvalidChars(s).replace(/[&<>"'\t\n\r]/g, (c) => ATTR[c]!);
}

/** `<name a="1">text</name>`, or nothing when text is undefined. */
export function el(name: string, text: string | undefined, attrs: Record<string, string | undefined> = {}): string {
  if (text === undefined) return "";
  return `<${name}${attributes(attrs)}>${xmlText(text)}</${name}>`;
}

/** `<name a="1"/>` */
export function empty(name: string, attrs: Record<string, string | undefined>): string {
  return `<${name}${attributes(attrs)}/>`;
}

function attributes(attrs: Record<string, string | undefined>): string {
  return Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlAttr(v!)}"`)
    .join("");
}
