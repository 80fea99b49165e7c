// The press-contact section at the end of a release, in the phrasings press offices use:
//
//   For more information, please contact:        For further information, please contact
//   Alem Brook                                   Jean Dupont at IOM Geneva, Tel: +41 …,
//   IOM Djibouti                                 Email: jdupont@example.org or Amina Yusuf
//   Tel: +253 352 459                            at IOM Nairobi, Mobile: +254 …
//   E-mail:
//   "mailto:balem@iom.int">balem@iom.int         (the scraper's broken link, repaired)
//
// Each line (or, for the inline form, the whole paragraph) is read into fields: an email, a
// labelled phone, and free-text parts split at commas, brackets and " at ". The first free
// text of a contact is its name, the rest its office. A contact ends when it already has a
// phone or email and more free text follows, or at an explicit " or " / ";".
import { z } from "zod";
import { type Contact, contactSchema } from "../model.ts";
import { isFooterMarker, isWidgetLine } from "./chrome.ts";

/**
 * The line that opens a contact section. Only phrasings that name contacting someone, so
 * "For more information, visit www.example.org" stays in the body.
 */
const CONTACT_INTRO =
  /^(?:(?:for\s+(?:further|more|additional)\s+(?:information|details)(?:\s+(?:on|about)\s+[^,:]{1,80}?)?|for\s+(?:media|press)\s+(?:enquiries|inquiries)|(?:media|press)\s+(?:enquiries|inquiries))[\s,:;.-]*(?:(?:please\s+)?(?:contact|call|e-?mail|write\s+to|reach(?:\s+out\s+to)?)\b[\s:,.-]*|$)|(?:(?:media|press)\s+)?contacts?\s*(?::[\s,.-]*|$))/i;

/** Lines after which the contact section is over (boilerplate that follows some releases). */
const CONTACT_STOP =
  /^(?:about\s+\S+\s*:?$|about\s+(?:the\s+)?(?:iom|us|un)\b|notes?\s+(?:to|for)\s+editors?\b|###|-\s*ends?\s*-|ends$)/i;

const EMAIL_LOCAL = /[A-Za-z0-9._%+-]/;
const EMAIL_DOMAIN = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
const PHONE_NUMBER = String.raw`[+(]{0,2}\d[\d\s().\/-]{4,}\d`;
const PHONE_LABEL = String.raw`(?:\b(?:tel(?:ephone)?|phone|mobile|mob|cell(?:phone)?|whatsapp)\b\.?|\b[TM]\s*(?=:))`;
const LABELLED_PHONE = new RegExp(`${PHONE_LABEL}\\s*:?\\s*(${PHONE_NUMBER})`, "gi");
const FAX = new RegExp(`\\bfax\\b\\.?\\s*:?\\s*(?:${PHONE_NUMBER})?`, "gi");
const BARE_PHONE = new RegExp(`^${PHONE_NUMBER}$`);
const LABEL_WORDS = /\b(?:e-?mail|tel(?:ephone)?|phone|mobile|mob|cell(?:phone)?|whatsapp|fax)\b\.?\s*:?/gi;
/** " or " between two contacts, as in "… Email: a@b.org or Amina Yusuf at …". */
const CONTACT_SEPARATOR = /\s+or\s+(?=\p{Lu})|\s*;\s*/u;
const FIELD_SEPARATOR = /[,()[\]]|\s+at\s+|\s+[–—-]\s+/;

const emailSchema = z.email();

export function isContactIntro(line: string): boolean {
  return CONTACT_INTRO.test(line.trim());
}

interface Fields {
  texts: string[];
  phone?: string;
  email?: string;
}

interface Draft {
  name: string;
  office?: string;
  phone?: string;
  email?: string;
}

export function parseContacts(groups: string[][]): Contact[] {
  const drafts: Draft[] = [];
  let current: Draft | undefined;
  for (const line of contactLines(groups)) {
    if (CONTACT_STOP.test(line) || isFooterMarker(line) || isWidgetLine(line)) break;
    for (const [k, segment] of line.split(CONTACT_SEPARATOR).entries()) {
      const next = addFields(current, readFields(segment), k > 0);
      if (next && next !== current) drafts.push(next);
      current = next;
    }
  }
  return drafts
    .map(toContact)
    .filter((c): c is Contact => c !== undefined)
    .slice(0, 10);
}

/**
 * The lines to read. In the inline form ("… please contact Jean Dupont at IOM Geneva, Tel: …")
 * the intro line carries data, and a hard-wrapped paragraph may split a name across lines, so
 * that paragraph is read as one line; in the block form every line is a field.
 */
function contactLines(groups: string[][]): string[] {
  const lines: string[] = [];
  for (const [g, group] of groups.entries()) {
    const [first = "", ...rest] = group.map((l) => l.trim()).filter(Boolean);
    const remainder = g === 0 ? first.replace(CONTACT_INTRO, "").trim() : first;
    if (g === 0 && remainder) lines.push([remainder, ...rest].join(" "));
    else lines.push(...(remainder ? [remainder] : []), ...rest);
  }
  return lines;
}

function readFields(segment: string): Fields {
  let rest = segment;
  const found = findEmails(rest);
  const email = found.map((f) => f.address).find((e) => emailSchema.safeParse(e).success);
  for (const f of [...found].reverse()) rest = `${rest.slice(0, f.start)},${rest.slice(f.end)}`;
  rest = rest.replace(/mailto:/gi, "");
  let phone: string | undefined;
  rest = rest.replace(LABELLED_PHONE, (_whole, number: string) => {
    phone ??= number.trim();
    return ",";
  });
  rest = rest.replace(FAX, ",").replace(LABEL_WORDS, ",");
  const texts: string[] = [];
  for (const part of rest.split(FIELD_SEPARATOR).map(cleanField)) {
    if (!part) continue;
    if (BARE_PHONE.test(part)) phone ??= part;
    else if (/\p{L}/u.test(part)) texts.push(part);
  }
  return { texts, ...(phone && { phone }), ...(email && { email }) };
}

/**
 * Email addresses in a line, found from each "@" outwards. (A regex that scans for the local
 * part from every position is quadratic on long lines without an "@".)
 */
function findEmails(line: string): { address: string; start: number; end: number }[] {
  const found: { address: string; start: number; end: number }[] = [];
  for (let at = line.indexOf("@"); at >= 0; at = line.indexOf("@", at + 1)) {
    let start = at;
    while (start > 0 && EMAIL_LOCAL.test(line[start - 1]!)) start--;
    const domain = EMAIL_DOMAIN.exec(line.slice(at + 1, at + 256));
    const previousEnd = found[found.length - 1]?.end ?? 0;
    if (start === at || !domain || start < previousEnd) continue;
    const end = at + 1 + domain[0].length;
    found.push({ address: line.slice(start, end), start, end });
  }
  return found;
}

/** Strips what scraping leaves around a field: quotes, angle brackets, stray punctuation. */
function cleanField(part: string): string {
  return part
    .replace(/["<>“”]|(?<!\p{L})'|'(?!\p{L})/gu, " ")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^[\s:.,;–—-]+|[\s:,;–—-]+$/g, "")
    .replace(/(?<!\b\p{Lu})\.$/u, "")
    .trim();
}

/** Adds one segment's fields to the contact being read, or starts the next contact. */
function addFields(current: Draft | undefined, fields: Fields, explicitlyNew: boolean): Draft | undefined {
  const [first, ...others] = fields.texts;
  if (first === undefined) {
    if (current) fillReach(current, fields);
    return current;
  }
  const reachable = current?.phone !== undefined || current?.email !== undefined;
  if (!current || explicitlyNew || reachable) {
    if (!looksLikeName(first)) return current;
    const draft: Draft = { name: first, ...(others.length && { office: others.join(", ") }) };
    fillReach(draft, fields);
    return draft;
  }
  current.office = [current.office, ...fields.texts].filter(Boolean).join(", ");
  fillReach(current, fields);
  return current;
}

function fillReach(draft: Draft, fields: Fields): void {
  if (fields.phone && !draft.phone) draft.phone = fields.phone;
  if (fields.email && !draft.email) draft.email = fields.email;
}

/** A person or desk name: starts with a capital, short, no digits and no sentence in it. */
function looksLikeName(text: string): boolean {
  const words = text.split(/\s+/);
  return /^\p{Lu}/u.test(text) && words.length <= 8 && text.length <= 80 && !/[\d@!?]/.test(text);
}

function toContact(draft: Draft): Contact | undefined {
  const parsed = contactSchema.safeParse(draft);
  if (parsed.success) return parsed.data;
  // An over-long office is the likeliest problem; keep the person reachable without it.
  const { office: _office, ...rest } = draft;
  const retry = contactSchema.safeParse(rest);
  return retry.success ? retry.data : undefined;
}
