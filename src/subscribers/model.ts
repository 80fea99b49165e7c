// The Subscriber: who gets email, in which language, about what, how often and when.
// Validation lists every problem at once (like releases); the store never sees raw input.
import { z } from "zod";
import { parseOrThrow } from "../errors.ts";
import { slug } from "../releases/model.ts";

export const LANGUAGES = ["en", "fr", "es"] as const;
export type Language = (typeof LANGUAGES)[number];
export const FREQUENCIES = ["immediate", "daily", "weekly"] as const;
export type Frequency = (typeof FREQUENCIES)[number];
export type DigestFrequency = Exclude<Frequency, "immediate">;
/** pending: waiting for the confirmation click. bounced/complained: suppressed, never mailed. */
export type SubscriberStatus = "pending" | "confirmed" | "unsubscribed" | "bounced" | "complained";

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return tz.length <= 64;
  } catch {
    return false;
  }
}

/** Trims and lower-cases the domain only: the local part is the mailbox owner's business (RFC 5321). */
export function normalizeEmail(raw: string): string {
  const s = raw.trim();
  const at = s.lastIndexOf("@");
  return at < 0 ? s : `${s.slice(0, at)}${s.slice(at).toLowerCase()}`;
}

const oneLineName = z
  .string()
  .trim()
  .max(100, "at most 100 characters")
  // A name goes into the To: header and the greeting; no line breaks or control characters.
  .refine((s) => !/[\u0000-\u001f\u007f\u2028\u2029<>]/.test(s), { message: "must be one line, without < > or control characters" });

const slugList = z
  .union([z.array(slug), z.string().transform((s) => s.split(/[;,]/).map((x) => x.trim()).filter(Boolean)).pipe(z.array(slug))])
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
  language: z.enum(LANGUAGES, { message: "one of en, fr, es" }).default("en"),
  topics: slugList.default([]),
  regions: slugList.default([]),
  frequency: z.enum(FREQUENCIES, { message: "one of immediate, daily, weekly" }).default("daily"),
  timezone: z.string().trim().refine(isTimeZone, { message: "an IANA time zone such as Europe/Paris or America/Lima" }).optional(),
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
  z.preprocess((v) => (typeof v === "string" && v.trim() === CLEAR ? null : typeof v === "string" && v.trim() === "" ? undefined : v), schema.nullable().optional());

/**
 * Ops changes to a subscriber (CLI `subscribers add`, POST /api/subscribers, CSV import): only the
 * fields named change; for a new address the others take their defaults.
 */
export const subscriberPatchSchema = z.object({
  email: subscriberInputSchema.shape.email,
  name: clearable(oneLineName),
  language: clearable(z.enum(LANGUAGES, { message: "one of en, fr, es" })),
  topics: clearable(slugList),
  regions: clearable(slugList),
  frequency: clearable(z.enum(FREQUENCIES, { message: "one of immediate, daily, weekly" })),
  timezone: clearable(z.string().trim().refine(isTimeZone, { message: "an IANA time zone such as Europe/Paris or America/Lima" })),
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
  const topicOk = s.topics.length === 0 || r.topics.some((t) => s.topics.includes(t));
  const regionOk = s.regions.length === 0 || r.regions.some((g) => s.regions.includes(g));
  return topicOk && regionOk;
}

/** Suppressed addresses are never mailed, whatever is queued. */
export const isSuppressed = (s: Subscriber) => s.status === "bounced" || s.status === "complained";
