// The Subscriber: who gets email, in which language, about what, how often and when.
// Validation lists every problem at once (like releases); the store never sees raw input.
import { z } from "zod";
import { isTimeZone } from "../clock.ts";
import { parseOrThrow } from "../errors.ts";
import { filterMatches, slug } from "../releases/model.ts";
import { LANGUAGES, type Language } from "../i18n/languages.ts";

export const FREQUENCIES = ["immediate", "daily", "weekly"] as const;
export type Frequency = (typeof FREQUENCIES)[number];
export type DigestFrequency = Exclude<Frequency, "immediate">;
/** pending: waiting for the confirmation click. bounced/complained: suppressed, never mailed. */
export type SubscriberStatus = "pending" | "confirmed" | "unsubscribed" | "bounced" | "complained";

/**
 * The address Herald mails: trimmed, Unicode NFC, domain lower-cased. The local part keeps the
 * case it was typed in: RFC 5321 leaves it to the mailbox's own server. Identity is emailKey().
 */
export function normalizeEmail(raw: string): string {
  const s = raw.trim().normalize("NFC");
  const at = s.lastIndexOf("@");
  return at < 0 ? s : `${s.slice(0, at)}${s.slice(at).toLowerCase()}`;
}

/**
 * Who an address belongs to: the normalised address case-folded whole. `A@x.org`, `a@X.ORG`
 * and ` a@x.org` are one reader (one subscriber id, see subscriberId in store.ts): every mail
 * provider in use treats local parts case-insensitively, and an address spelled three ways must
 * not become three subscriptions or three confirmation emails.
 */
export function emailKey(raw: string): string {
  return normalizeEmail(raw).toLowerCase();
}

/**
 * The mailbox an address delivers to, for the one-confirmation-per-hour rule only: emailKey
 * without a `+tag` (`ana+1@x.org`, `ana+2@x.org` … all land in ana@x.org's inbox, so they share
 * its hourly confirmation). They stay separate subscriptions.
 */
export function mailboxKey(raw: string): string {
  const key = emailKey(raw);
  const at = key.lastIndexOf("@");
  const plus = key.indexOf("+");
  return at > 0 && plus > 0 && plus < at ? `${key.slice(0, plus)}${key.slice(at)}` : key;
}

/** URLs, www., addresses and dotted host names ("evil.com", "bit.ly"); initials ("J.R.R.") pass. */
const LINK_LIKE = /:\/\/|www\.|@|[\p{L}\p{N}][.．。｡]\p{L}{2,}/iu;

const oneLineName = z
  .string()
  .trim()
  .max(100, "at most 100 characters")
  .superRefine((s, ctx) => {
    const why = nameProblem(s);
    if (why) ctx.addIssue({ code: "custom", message: why });
  });

/** What is wrong with a name (the first problem), or null. */
function nameProblem(s: string): string | null {
  // A name goes into the To: header and the greeting; no line breaks or control characters.
  if (/[\u0000-\u001f\u007f\u2028\u2029<>]/.test(s)) return "must be one line, without < > or control characters";
  // Anyone can type a name next to anyone's address, and alerts greet the reader with it: no
  // links (a lure in mail sent in the organisation's name), no text-direction tricks, no U+FFFD
  // (text already garbled by a wrong encoding). The confirmation email never shows it at all.
  if (LINK_LIKE.test(s)) return "must not contain a web or email address (a name only)";
  if (/[\u202a-\u202e\u2066-\u2069\ufffd]/.test(s))
    return "must not contain text-direction controls or U+FFFD (send it in UTF-8)";
  return null;
}

const slugList = z
  .union([
    z.array(slug),
    z
      .string()
      .transform((s) =>
        s
          .split(/[;,]/)
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .pipe(z.array(slug)),
  ])
  .transform((xs) => [...new Set(xs)])
  .pipe(z.array(z.string()).max(50, "at most 50 values"));

export const subscriberInputSchema = z.object({
  email: z
    .string()
    .trim()
    .max(254, "at most 254 characters")
    .pipe(z.email("an email address such as ana@example.org"))
    .transform(normalizeEmail),
  name: oneLineName.optional().transform((s) => (s ? s : undefined)),
  language: z.enum(LANGUAGES, { message: `one of ${LANGUAGES.join(", ")}` }).default("en"),
  topics: slugList.default([]),
  regions: slugList.default([]),
  frequency: z.enum(FREQUENCIES, { message: "one of immediate, daily, weekly" }).default("daily"),
  timezone: z
    .string()
    .trim()
    .refine(isTimeZone, { message: "an IANA time zone such as Europe/Paris or America/Lima" })
    .optional(),
});

export type SubscriberInput = z.input<typeof subscriberInputSchema>;
export type ParsedSubscriberInput = z.output<typeof subscriberInputSchema>;

/** The value that clears a field (CLI flag, CSV cell or API string); the API also takes null. */
export const CLEAR = "-";

/**
 * "Clearable": `-` or null put the field back to its default (no name, every topic, every region,
 * DEFAULT_TIMEZONE, en, daily); absent or "" leaves the field as it is.
 */
const clearable = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (v) =>
      typeof v === "string" && v.trim() === CLEAR ? null : typeof v === "string" && v.trim() === "" ? undefined : v,
    schema.nullable().optional(),
  );

/**
 * Ops changes to a subscriber (CLI `subscribers add`, POST /api/subscribers, CSV import): only the
 * fields named change; for a new address the others take their defaults.
 */
export const subscriberPatchSchema = z.object({
  email: subscriberInputSchema.shape.email,
  name: clearable(oneLineName),
  language: clearable(z.enum(LANGUAGES, { message: `one of ${LANGUAGES.join(", ")}` })),
  topics: clearable(slugList),
  regions: clearable(slugList),
  frequency: clearable(z.enum(FREQUENCIES, { message: "one of immediate, daily, weekly" })),
  timezone: clearable(
    z.string().trim().refine(isTimeZone, { message: "an IANA time zone such as Europe/Paris or America/Lima" }),
  ),
});

export type SubscriberPatch = z.output<typeof subscriberPatchSchema>;

export function parseSubscriberPatch(raw: unknown): SubscriberPatch {
  return parseOrThrow(subscriberPatchSchema, raw, "subscriber");
}

export interface Subscriber {
  /**
   * Bumped by every write; a write commits only if the record is still at the revision it read
   * (store.ts). Records written before revisions existed have none (read as 0).
   */
  revision?: number;
  /** Derived from the email: stable, colon-free (used in job ids and Message-IDs). */
  id: string;
  email: string;
  name?: string;
  language: Language;
  /** Empty = every topic. */
  topics: string[];
  /** Empty = every region. */
  regions: string[];
  frequency: Frequency;
  timezone: string;
  status: SubscriberStatus;
  createdAt: string;
  updatedAt: string;
  confirmedAt?: string;
  unsubscribedAt?: string;
  /** Why the address is suppressed (the SMTP answer of a bounce). */
  suppressedReason?: string;
}

export function parseSubscriberInput(raw: unknown): ParsedSubscriberInput {
  return parseOrThrow(subscriberInputSchema, raw, "subscriber");
}

/** Whether a release with these topics and regions interests the reader (empty list = all). */
export function wants(s: Pick<Subscriber, "topics" | "regions">, r: { topics: string[]; regions: string[] }): boolean {
  return filterMatches(s.topics, r.topics) && filterMatches(s.regions, r.regions);
}

/** Suppressed addresses are never mailed, whatever is queued. */
export const isSuppressed = (s: Subscriber) => s.status === "bounced" || s.status === "complained";
