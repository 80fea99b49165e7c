// `herald import FILE`: turns a scraped press-release page (plain text or HTML) into release
// JSON. The page supplies what it states (title, body, contacts, dateline, a clearly stated
// date, its language and canonical URL); options fill only what the page does not say.
// Topics and regions are never guessed: they come from options or stay empty.
import { HeraldError } from "../errors.ts";
import { parseContacts } from "./import/contacts.ts";
import { readHtmlPage } from "./import/html-page.ts";
import { type Block, renderBlocks, type ScrapedPage } from "./import/page.ts";
import { readTextPage } from "./import/text-page.ts";
import { type Contact, describeIssues, formatIssues, type ReleaseInput, releaseInputSchema } from "./model.ts";

export interface ImportOptions {
  /** ISO 8601 date-time, used when the page states no date. */
  publishedAt?: string;
  topics?: string[];
  regions?: string[];
  /** ISO 639-1 code, used when the page declares no language; default "en". */
  language?: string;
  /** Where the release lives, used when the page names no canonical URL. */
  url?: string;
}

/**
 * The page cannot become a release (fail now: retrying will not help). The message is one
 * line that says what the page lacks, so a press officer can fix the page or the file.
 */
export class ImportError extends HeraldError {
  override readonly code = "HERALD_IMPORT";

  constructor(message: string) {
    super("HERALD_IMPORT", message.replace(/\s+/g, " ").trim(), 422);
    this.name = "ImportError";
  }
}

export function importPage(content: string, options: ImportOptions = {}): ReleaseInput {
  const text = content.replace(/^\uFEFF/, "");
  if (!text.trim()) throw new ImportError("the page is empty: the file has no text to import");

  const html = looksLikeHtml(text);
  const page = html ? readHtmlPage(text, options.url) : readTextPage(text);
  if (!page.title) {
    throw new ImportError(
      html
        ? "no title found: the page has no <h1>, og:title or <title>"
        : "no title found: the page has no heading line followed by a paragraph; put the title on its own line above the text",
    );
  }
  if (page.body.length === 0) {
    throw new ImportError("no body found: the page has a title but no paragraphs after it");
  }
  return validated(assemble(page, page.title, options));
}

function assemble(page: ScrapedPage, title: string, options: ImportOptions): ReleaseInput {
  const contacts = parseContacts(page.contactGroups);
  const { dateline, body } = takeDateline(page.body, contacts);
  const publishedAt = page.publishedAt ?? options.publishedAt;
  const url = page.url ?? options.url;
  return {
    title,
    body: renderBlocks(body),
    ...(dateline && { dateline }),
    ...(publishedAt && { publishedAt }),
    language: page.language ?? options.language ?? "en",
    topics: options.topics ?? [],
    regions: options.regions ?? [],
    ...(url && { url }),
    contacts,
  };
}

/** Every import must be a valid ReleaseInput; otherwise say which field is wrong and why. */
function validated(release: ReleaseInput): ReleaseInput {
  const parsed = releaseInputSchema.safeParse(release);
  if (!parsed.success) {
    throw new ImportError(`the imported release is invalid: ${formatIssues(describeIssues(parsed.error))}`);
  }
  return release;
}

// ---- format detection ----------------------------------------------------------------------

const HTML_START = /^\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<\?xml)/i;
const COMMON_TAG =
  /<\/?(?:p|div|h[1-6]|br|article|main|section|ul|ol|li|span|a|body|head|title|meta|table|strong|em)(?=[\s/>])[^<>]*>/gi;

/**
 * HTML if it starts like a document, or carries at least three common tags. A plain-text
 * scrape may contain a stray fragment (the sample has `"mailto:…">…`), never three tags.
 */
export function looksLikeHtml(content: string): boolean {
  if (HTML_START.test(content.slice(0, 1024))) return true;
  return (content.slice(0, 200_000).match(COMMON_TAG)?.length ?? 0) >= 3;
}

// ---- dateline ------------------------------------------------------------------------------

const PLACE_WORD = String.raw`\p{Lu}[\p{L}'’.-]*`;
const PLACE = String.raw`${PLACE_WORD}(?:\s+(?:${PLACE_WORD}|of|and|de|del|la|le|the|es|do|da|al|el)){0,4}`;
const SHORT_DATE = String.raw`\d{1,2}\s+\p{Lu}\p{Ll}+\.?\s+\d{4}|\p{Lu}\p{Ll}+\.?\s+\d{1,2},?\s+\d{4}`;
/** "GENEVA – ", "Djibouti, Djibouti – ", "ROME -", optionally with the day: "Geneva, 7 February 2026 – ". */
const DATELINE = new RegExp(
  String.raw`^(${PLACE}(?:,\s*${PLACE})?)(?:,\s*(?:${SHORT_DATE}))?(?:\s*[–—]\s*|\s+--?\s+)(?=\S)`,
  "u",
);
/** Organisations open sentences with "IOM – the UN Migration Agency – …"; they are not places. */
const ORGANISATIONS = new Set([
  "IOM",
  "UN",
  "UNHCR",
  "UNICEF",
  "WHO",
  "WFP",
  "UNDP",
  "OCHA",
  "EU",
  "UNFPA",
  "ILO",
  "NGO",
]);
const ORG_ACRONYM = /^\p{Lu}{2,}\s+(?=\p{Lu})/u;

/**
 * The dateline is the place a release opens with ("CITY – …"), taken out of the first
 * paragraph; failing that, the first contact's office without its organisation ("IOM
 * Djibouti" → "Djibouti"), since press offices file from where they are.
 */
function takeDateline(body: Block[], contacts: Contact[]): { dateline?: string; body: Block[] } {
  const [first, ...others] = body;
  if (first?.kind === "p") {
    const [lead, ...inlines] = first.inlines;
    const match = lead && !("br" in lead) && !lead.href ? DATELINE.exec(lead.text) : null;
    const place = match?.[1]?.trim();
    if (lead && !("br" in lead) && match && place && place.length <= 100 && !ORGANISATIONS.has(place)) {
      const rest = { text: lead.text.slice(match[0].length) };
      return { dateline: place, body: [{ kind: "p", inlines: [rest, ...inlines] }, ...others] };
    }
  }
  const office = contacts[0]?.office;
  const fromOffice = office && ORG_ACRONYM.test(office) ? office.replace(ORG_ACRONYM, "").trim() : undefined;
  return fromOffice && fromOffice.length <= 100 ? { dateline: fromOffice, body } : { body };
}
