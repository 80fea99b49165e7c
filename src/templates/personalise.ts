// Per-reader values into a segment's rendered message: a string substitution, no MJML. HTML
// gets escaped values; the text part gets them as they are (names cannot hold line breaks:
// see the subscriber model).
import type Mail from "nodemailer/lib/mailer";
import { formatDate } from "../clock.ts";
import { buildSplicedMail, type Envelope, qpPiece } from "../mail/message.ts";
import { escapeHtml } from "../releases/sanitize.ts";
import type { Language } from "../i18n/languages.ts";
import type { RenderedMessage } from "./render.ts";
import { MAIL_STRINGS } from "../i18n/mail.ts";

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
const EMPTY = Buffer.alloc(0);
const READER_SLOTS = new Set(["greeting", "unsubscribe", "preferences", "confirm"]);
/** Variants kept per segment: one per (language, zone) of its readers, bounded. */
const VARIANTS_KEPT = 64;
const variants = new WeakMap<RenderedMessage, Map<string, Variant>>();

/** Quoted-printable of long unchanging pieces (layout, a release's rows), shared by every segment holding them. */
const encoded = new Map<string, Buffer>();
const ENCODED_BYTES = 8 * 1024 * 1024;
const SHARED = 256;
let encodedBytes = 0;

/** The cached encoding of a long slot-free piece, or undefined. */
function sharedHit(text: string): Buffer | undefined {
  return text.length < SHARED ? undefined : encoded.get(text);
}

/**
 * `whole`: `text` is a whole part of a message (not a slice of a longer string), so it is kept as
 * the key itself: the next segment holding this piece looks it up with the same string, which
 * compares by identity instead of by content.
 */
function encodeShared(text: string, whole = false): Buffer {
  if (text.length < SHARED) return qpPiece(text);
  let b = encoded.get(text);
  if (!b) {
    b = qpPiece(text);
    while (encoded.size > 0 && encodedBytes + b.length > ENCODED_BYTES) {
      const [oldest, ob] = encoded.entries().next().value!;
      encodedBytes -= ob.length;
      encoded.delete(oldest);
    }
    // A slice is kept by a copy: `text` is then often a slice of a segment's whole text (see
    // cut), and as a key it would keep that whole text alive for as long as the encoding is cached.
    encoded.set(whole ? text : Buffer.from(text).toString(), b);
    encodedBytes += b.length;
  }
  return b;
}

/**
 * A body cut at the reader's slots, dates filled in, each unchanging run quoted-printable. Given
 * the pieces an HTML was assembled from, each long piece is encoded once for all segments (its
 * buffer shared); otherwise runs are joined and encoded here.
 */
function cut(
  parts: string[],
  re: RegExp,
  mark: string,
  dates: Record<string, string>,
  esc: (s: string) => string,
): Piece[] {
  const out: Piece[] = [];
  // Short runs (a date, the text between two dates) are encoded one by one and then copied into
  // one buffer for the whole variant: a 50-item digest has ~100 of them, and a buffer of its own
  // each (they outlive the message: see qpPiece) cost more than encoding them.
  const runs: Buffer[] = [];
  const runAt: number[] = [];
  let run = "";
  const flush = () => {
    if (run) {
      runAt.push(out.length);
      out.push(EMPTY);
      runs.push(qpPiece(run, false));
    }
    run = "";
  };
  for (const part of parts) {
    // Most pieces of an assembled digest (the layout, a release's rows) hold no slot and are
    // encoded already: a piece in the cache has no slot (only slot-free pieces are put there).
    const hit = sharedHit(part);
    if (hit) {
      flush();
      out.push(hit);
      continue;
    }
    // Looked for without splitting (a segment has one or two readers, so this runs about once per email).
    const bits = part.length >= SHARED && !part.includes(mark) ? [part] : part.split(re);
    if (bits.length === 1 && part.length >= SHARED) {
      flush();
      out.push(encodeShared(part, true));
      continue;
    }
    bits.forEach((p, i) => {
      if (i % 2 === 0) {
        if (p.length >= SHARED) {
          flush();
          out.push(encodeShared(p));
        } else run += p;
      } else if (READER_SLOTS.has(p)) {
        flush();
        out.push(p as Piece);
      } else run += esc(dates[p] ?? "");
    });
  }
  flush();
  if (runs.length > 0) {
    const all = Buffer.allocUnsafeSlow(runs.reduce((n, b) => n + b.length, 0));
    let at = 0;
    runs.forEach((b, i) => {
      out[runAt[i]!] = all.subarray(at, at + b.copy(all, at));
      at += b.length;
    });
  }
  return out;
}

/** Release dates as a reader sees them: the same few hundred (date, language, zone) recur in every segment. */
const datesSeen = new Map<string, string>();
function dateIn(ms: number, language: Language, timezone: string): string {
  const key = `${ms}|${language}|${timezone}`;
  let d = datesSeen.get(key);
  if (d === undefined) {
    d = formatDate(ms, language, timezone);
    if (datesSeen.size >= 10_000) datesSeen.clear();
    datesSeen.set(key, d);
  }
  return d;
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
      dates[`d${i}`] = dateIn(ms, language, timezone);
    });
    const split = new RegExp(`HX${m.nonce}X([a-z0-9]+)X`, "g");
    const mark = `HX${m.nonce}X`;
    v = {
      html: cut(m.parts ?? [m.html], split, mark, dates, escapeHtml),
      text: cut([m.text], split, mark, dates, (s) => s),
    };
    if (byReader.size >= VARIANTS_KEPT) byReader.clear();
    byReader.set(key, v);
  }
  return v;
}

/**
 * The reader's raw message: what buildMail(personalise(m, reader)) gives once parsed (the parts
 * are quoted-printable instead of base64), built from the segment's pre-encoded pieces.
 */
export function personalMail(
  m: RenderedMessage,
  reader: Reader,
  e: Omit<Envelope, "subject" | "html" | "text">,
  now: number,
): Mail.Options {
  const v = variantOf(m, reader.language, reader.timezone);
  const values: Record<string, string> = {
    greeting: MAIL_STRINGS[reader.language].greeting(reader.name),
    unsubscribe: reader.unsubscribeUrl ?? "",
    preferences: reader.preferencesUrl ?? "",
    confirm: reader.confirmUrl ?? "",
  };
  const fill = (pieces: Piece[], esc: (s: string) => string) =>
    pieces.map((p) => (typeof p === "string" ? qpPiece(esc(values[p]!), false) : p));
  return buildSplicedMail(
    { ...e, subject: m.subject },
    fill(v.text, (s) => s),
    fill(v.html, escapeHtml),
    now,
  );
}
