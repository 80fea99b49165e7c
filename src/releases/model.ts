// The Release: what the press office sends (ReleaseInput) and what Herald keeps (Release).
// Validation lists every problem at once; sanitising happens in sanitize.ts, never here.
import { z } from "zod";

/** Lower-case words joined by single hyphens: safe in URLs, Redis keys and BullMQ job ids. */
export const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const slug = z
  .string()
  .trim()
  .toLowerCase()
  .max(120, "at most 120 characters")
  .regex(SLUG_RE, "lower-case letters, digits and single hyphens, e.g. counter-trafficking");

const languageNames = new Intl.DisplayNames(["en"], { type: "language", fallback: "none" });

/** True for an ISO 639-1 code (optionally with a region, e.g. pt-BR) that ICU knows. */
export function isLanguageCode(code: string): boolean {
  const m = /^([a-z]{2})(?:-([A-Z]{2}))?$/.exec(code);
  if (!m) return false;
  return languageNames.of(m[1]!) !== undefined;
}

export const languageCode = z
  .string()
  .trim()
  .refine(isLanguageCode, { message: "an ISO 639-1 language code such as en, fr, es or ar" });

/** One line of text: no CR, LF or other control characters (they would split mail headers). */
export const singleLine = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `at most ${max} characters`)
    .refine((s) => !/[\u0000-\u001f\u007f\u2028\u2029]/.test(s), {
      message: "must be one line: no line breaks or control characters",
    });

const isoDate = z.iso.datetime({ offset: true, message: "an ISO 8601 date-time such as 2026-11-28T09:00:00Z" });
/** What an RFC 3986 URI may hold; "%" only as the start of an escape. */
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;

/**
 * An absolute http(s) URL in the normalised form a WHATWG parser gives it (`new URL().href`:
 * host lower-case and punycoded, spaces and non-ASCII percent-encoded), or null when it is not
 * one or the result is still no RFC 3986 URI (ninjs `format: uri`, feed links): "|", "^", a
 * second "#", a broken escape. Refused outright: whitespace or backslashes inside (a parser would
 * quietly read them as something else), no "//", and user:password@ (`https://iom.int@evil.example`
 * reads as iom.int to a person).
 */
export function httpUrl(raw: string): string | null {
  const s = raw.trim();
  if (!/^https?:\/\//i.test(s) || /[\s\\\u0000-\u001f\u007f]/.test(s)) return null;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.username || u.password) return null;
  if (!u.hostname || u.hostname.startsWith(".") || u.hostname.includes("..")) return null;
  const href = u.href;
  if (!URI_CHARS.test(href) || /%(?![0-9A-Fa-f]{2})/.test(href)) return null;
  const rest = href.slice(u.protocol.length + 2 + u.host.length); // path, query, fragment
  const hash = rest.indexOf("#");
  if (/[[\]]/.test(rest) || (hash >= 0 && rest.includes("#", hash + 1))) return null;
  return href;
}

const webUrl = z
  .string()
  .trim()
  .max(2048, "at most 2048 characters")
  .refine((s) => httpUrl(s) !== null, {
    message: "an http(s) URL such as https://www.iom.int/news/…: no spaces, no user:password@",
  })
  .transform((s) => httpUrl(s)!)
  .pipe(z.string().max(4096, "at most 4096 characters once encoded"));

export const contactSchema = z.object({
  name: singleLine(200),
  office: singleLine(200).optional(),
  phone: singleLine(80).optional(),
  email: z.email("an email address").max(254).optional(),
});

/** The largest body accepted; the HTTP layer refuses bigger requests with 413 before parsing. */
export const MAX_BODY_CHARS = 1024 * 1024;

export const releaseInputSchema = z.object({
  id: slug.optional(),
  title: singleLine(300),
  summary: z.string().trim().max(2000, "at most 2000 characters").optional(),
  body: z.string().trim().min(1, "must not be empty").max(MAX_BODY_CHARS, "at most 1 MiB"),
  dateline: singleLine(100).optional(),
  publishedAt: isoDate.optional(),
  embargoUntil: isoDate.nullish(),
  language: languageCode.default("en"),
  translationOf: slug.nullish(),
  topics: z.array(slug).max(20, "at most 20 topics").default([]),
  regions: z.array(slug).max(50, "at most 50 regions").default([]),
  urgent: z.boolean().default(false),
  url: webUrl.optional(),
  contacts: z.array(contactSchema).max(10, "at most 10 contacts").default([]),
  image: z.object({ url: webUrl, alt: singleLine(300) }).optional(),
});

export type ReleaseInput = z.input<typeof releaseInputSchema>;
export type ParsedReleaseInput = z.output<typeof releaseInputSchema>;
export type Contact = z.output<typeof contactSchema>;

export type ReleaseStatus = "embargoed" | "published" | "withdrawn";

/** A stored release: one revision of it. Dates are ISO strings in UTC. */
export interface Release {
  id: string;
  revision: number;
  status: ReleaseStatus;
  title: string;
  summary?: string;
  /** Sanitised HTML (see sanitize.ts). */
  bodyHtml: string;
  /** Plain text rendered from bodyHtml, paragraphs separated by blank lines. */
  bodyText: string;
  dateline?: string;
  /** When the release is (or was) public: for an embargoed release, its embargo time. */
  publishedAt: string;
  embargoUntil?: string;
  language: string;
  translationOf?: string;
  topics: string[];
  regions: string[];
  urgent: boolean;
  url?: string;
  contacts: Contact[];
  image?: { url: string; alt: string };
  /** First revision's store time. */
  createdAt: string;
  /** This revision's store time. */
  updatedAt: string;
  /** Why this revision was made, shown to readers as a correction notice. */
  correction?: string;
  withdrawnAt?: string;
}

/**
 * The two dates every output states, by one rule (README "Dates"):
 *  - published: first publication, `publishedAt` as the press office gave it (a back-dated import
 *    keeps its date), or for an embargoed release the time the embargo lifts;
 *  - modified: when the revision a reader sees was made. Revision 1 is the publication itself, so
 *    it is `published` (never the ingest time); a later revision is its store time, but never
 *    before `published` (a correction made under embargo is not news to anyone).
 * Store times (createdAt, updatedAt) are bookkeeping and appear in no output as such.
 */
export function releaseDates(r: Pick<Release, "revision" | "publishedAt" | "updatedAt">): {
  published: string;
  modified: string;
} {
  const published = Date.parse(r.publishedAt);
  const modified = r.revision > 1 ? Math.max(Date.parse(r.updatedAt), published) : published;
  return { published: new Date(published).toISOString(), modified: new Date(modified).toISOString() };
}

// The issue list every error carries lives with the errors (ground floor); re-exported for the
// many callers that validate releases and subscribers.
export { describeIssues, formatIssues, type Issue } from "../errors.ts";

/**
 * A reader's or a partner's filter on one facet (topics, regions, languages): an empty list
 * means "all"; otherwise the release must carry at least one of the values.
 */
export function filterMatches(filter: readonly string[], values: readonly string[]): boolean {
  return filter.length === 0 || values.some((v) => filter.includes(v));
}
