// Per-reader values into a segment's rendered message: a string substitution, no MJML. HTML
// gets escaped values; the text part gets them as they are (names cannot hold line breaks:
// see the subscriber model).
import type Mail from "nodemailer/lib/mailer";
import { buildSplicedMail, type Envelope, qpPiece } from "../mail/message.ts";
import type { Language } from "../subscribers/model.ts";
import { formatDate } from "./dates.ts";
import { escapeHtml, type RenderedMessage } from "./render.ts";
import { MAIL_STRINGS } from "./strings.ts";

export interface Reader {
  name?: string;
  language: Language;
  timezone: string;
  unsubscribeUrl?: string;
  preferencesUrl?: string;
  confirmUrl?: string;
}

export function personalise(m: RenderedMessage, reader: Reader): { subject: string; html: string; text: string } {
  const values: Record<string, string> = {
    greeting: MAIL_STRINGS[reader.language].greeting(reader.name),
    unsubscribe: reader.unsubscribeUrl ?? "",
    preferences: reader.preferencesUrl ?? "",
    confirm: reader.confirmUrl ?? "",
  };
  m.dates.forEach((ms, i) => {
    values[`d${i}`] = formatDate(ms, reader.language, reader.timezone);
  });
  const re = new RegExp(`HX${m.nonce}X([a-z0-9]+)X`, "g");
  return {
    subject: m.subject,
    html: m.html.replace(re, (_, k: string) => escapeHtml(values[k] ?? "")),
    text: m.text.replace(re, (_, k: string) => values[k] ?? ""),
  };
}

// The same personalisation, spliced (see message.ts): a segment's body is cut at the reader's
// slots once per (language, time zone) of its readers, with the dates filled in, and each
// unchanging piece is encoded once; a reader's message is their few values encoded and the
// pieces copied around them, so its cost no longer grows with the digest's length.
type Piece = Buffer | "greeting" | "unsubscribe" | "preferences" | "confirm";
interface Variant {
  html: Piece[];
  text: Piece[];
}
const READER_SLOTS = new Set(["greeting", "unsubscribe", "preferences", "confirm"]);
/** Variants kept per segment: one per (language, zone) of its readers, bounded. */
const VARIANTS_KEPT = 64;
const variants = new WeakMap<RenderedMessage, Map<string, Variant>>();

function cut(body: string, re: RegExp, dates: Record<string, string>, esc: (s: string) => string): Piece[] {
  const parts = body.split(re);
  const out: Piece[] = [];
  let run = "";
  parts.forEach((p, i) => {
    if (i % 2 === 0) run += p;
    else if (READER_SLOTS.has(p)) {
      out.push(qpPiece(run), p as Piece);
      run = "";
    } else run += esc(dates[p] ?? "");
  });
  out.push(qpPiece(run));
  return out;
}

function variantOf(m: RenderedMessage, language: Language, timezone: string): Variant {
  let byReader = variants.get(m);
  if (!byReader) {
    byReader = new Map();
    variants.set(m, byReader);
  }
  const key = `${language}|${timezone}`;
  let v = byReader.get(key);
  if (!v) {
    const dates: Record<string, string> = {};
    m.dates.forEach((ms, i) => {
      dates[`d${i}`] = formatDate(ms, language, timezone);
    });
    const split = new RegExp(`HX${m.nonce}X([a-z0-9]+)X`, "g");
    v = { html: cut(m.html, split, dates, escapeHtml), text: cut(m.text, split, dates, (s) => s) };
    if (byReader.size >= VARIANTS_KEPT) byReader.clear();
    byReader.set(key, v);
  }
  return v;
}

/**
 * The reader's raw message: what buildMail(personalise(m, reader)) gives once parsed (the parts
 * are quoted-printable instead of base64), built from the segment's pre-encoded pieces.
 */
export function personalMail(m: RenderedMessage, reader: Reader, e: Omit<Envelope, "subject" | "html" | "text">, now: number): Mail.Options {
  const v = variantOf(m, reader.language, reader.timezone);
  const values: Record<string, string> = {
    greeting: MAIL_STRINGS[reader.language].greeting(reader.name),
    unsubscribe: reader.unsubscribeUrl ?? "",
    preferences: reader.preferencesUrl ?? "",
    confirm: reader.confirmUrl ?? "",
  };
  const fill = (pieces: Piece[], esc: (s: string) => string) => pieces.map((p) => (typeof p === "string" ? qpPiece(esc(values[p]!)) : p));
  return buildSplicedMail({ ...e, subject: m.subject }, fill(v.text, (s) => s), fill(v.html, escapeHtml), now);
}
