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
  // A t{ms} slot is the date at ms; any other unknown slot is empty.
  const value = (k: string) =>
    values[k] ?? (/^t[0-9]+$/.test(k) ? formatDate(Number(k.slice(1)), reader.language, reader.timezone) : "");
  const re = new RegExp(`HX${m.nonce}X([a-z0-9]+)X`, "g");
  return {
    subject: m.subject,
    html: m.html.replace(re, (_, k: string) => escapeHtml(value(k))),
    text: m.text.replace(re, (_, k: string) => value(k)),
  };
}

// The same personalisation, spliced (see message.ts). A segment's body is cut at the reader's
// slots into quoted-printable pieces, each part it was assembled from (the layout's, a release's
// rows and lines, a count's intro, a topic's heading) cut and encoded once for every segment
// holding it. A reader's message is then those pieces copied in order, their dates (encoded once
// per language and zone) and their few values encoded per message: its cost no longer grows with
// the digest's length, nor with the number of segments.
type ReaderSlot = "greeting" | "unsubscribe" | "preferences" | "confirm";
/** An encoded run, a reader's value, or a date: by its index in the message's dates (d{i}), or itself (t{ms}). */
type Piece = Buffer | ReaderSlot | { index: number } | { ms: number };
/** A message's body ready but for the reader: an encoded run, a reader's value, or a date (ms). */
type BodyPiece = Buffer | ReaderSlot | number;
const READER_SLOTS = new Set(["greeting", "unsubscribe", "preferences", "confirm"]);

/** A segment's HTML and text as pieces, by the message (the segment cache keeps it as long as it is used). */
interface Cut {
  html: BodyPiece[];
  text: BodyPiece[];
}
const cuts = new WeakMap<RenderedMessage, Cut>();

/**
 * Parts cut and encoded, by their text: the same parts recur in every segment holding them (a
 * segment's own, like its preview line, go through and out). `nonce`: the slots' nonce they were
 * cut at, undefined when the part has no slot of any nonce ("HX"). Two generations, each bounded
 * by characters and encoded bytes: new parts go into the young one, a part found in the old one
 * moves to the young one, and a full young one becomes the old one (the old one dropped whole).
 * So what recurs stays, and nothing is deleted one by one: a Map deleted from its front keeps the
 * holes, and finding its oldest entry then walks them (one part per segment made that the send
 * path's largest cost). A part too large for a quarter of a generation is not kept.
 */
type Encoded = { nonce: string | undefined; pieces: Piece[]; bytes: number };
let young = new Map<string, Encoded>();
let old = new Map<string, Encoded>();
const GENERATION_BYTES = 2 * 1024 * 1024;
let youngBytes = 0;

/** The marker of a nonce's slots and the pattern that splits at them, for the last nonce seen (most messages share their renderer's). */
let slotsOf: { nonce: string; mark: string; split: RegExp } | undefined;

/** A slot by its name: the reader's value, a date, or nothing (any other slot is empty, as in personalise()). */
function slotPiece(name: string): Piece | undefined {
  if (READER_SLOTS.has(name)) return name as ReaderSlot;
  if (/^t[0-9]+$/.test(name)) return { ms: Number(name.slice(1)) };
  return /^d[0-9]+$/.test(name) ? { index: Number(name.slice(1)) } : undefined;
}

/** One part cut at the slots of `nonce` and encoded (kept: it outlives the message, see qpPiece). */
function cutPart(part: string, nonce: string): Piece[] {
  if (slotsOf?.nonce !== nonce) slotsOf = { nonce, mark: `HX${nonce}X`, split: new RegExp(`HX${nonce}X([a-z0-9]+)X`) };
  const { mark, split } = slotsOf;
  const at = part.indexOf(mark);
  if (at < 0) return part ? [qpPiece(part)] : [];
  const out: Piece[] = [];
  part.split(split).forEach((p, i) => {
    if (i % 2 === 0) {
      if (p) out.push(qpPiece(p));
    } else {
      const slot = slotPiece(p);
      if (slot !== undefined) out.push(slot);
    }
  });
  return out;
}

function fits(e: Encoded | undefined, nonce: string): boolean {
  return e !== undefined && (e.nonce === undefined || e.nonce === nonce);
}

/** A part's pieces, from the cache (cut and kept there on first use). */
function piecesOf(part: string, nonce: string): Piece[] {
  const hit = young.get(part);
  if (fits(hit, nonce)) return hit!.pieces;
  let e = old.get(part);
  if (!fits(e, nonce)) {
    const pieces = cutPart(part, nonce);
    let bytes = part.length;
    for (const p of pieces) if (Buffer.isBuffer(p)) bytes += p.length;
    e = { nonce: part.includes("HX") ? nonce : undefined, pieces, bytes };
    if (bytes > GENERATION_BYTES / 4) return pieces;
  }
  if (youngBytes + e!.bytes > GENERATION_BYTES) {
    old = young;
    young = new Map();
    youngBytes = 0;
  }
  // Replaces an entry of another nonce, if any (its bytes stay counted until the generation goes).
  young.set(part, e!);
  youngBytes += e!.bytes;
  return e!.pieces;
}

/** A message's body as pieces: its parts' (see piecesOf), its dates by their time. */
function cutBody(m: RenderedMessage, parts: string[]): BodyPiece[] {
  const out: BodyPiece[] = [];
  for (const part of parts) {
    for (const p of piecesOf(part, m.nonce)) {
      if (typeof p === "string" || Buffer.isBuffer(p)) out.push(p);
      else if ("ms" in p) out.push(p.ms);
      else if (p.index < m.dates.length) out.push(m.dates[p.index]!);
    }
  }
  return out;
}

function cutOf(m: RenderedMessage): Cut {
  let c = cuts.get(m);
  if (!c) {
    c = { html: cutBody(m, m.parts ?? [m.html]), text: cutBody(m, m.textParts ?? [m.text]) };
    cuts.set(m, c);
  }
  return c;
}

/**
 * Release dates as a reader sees them, encoded for the text and (escaped) the HTML: the same few
 * hundred recur in every segment. By language and zone, then time; the encodings by what they
 * read, so the many times of one day share theirs.
 */
const datesSeen = new Map<string, Map<number, [Buffer, Buffer]>>();
const dateEncodings = new Map<string, [Buffer, Buffer]>();
let datesKept = 0;
const DATES_KEPT = 50_000;

function datesIn(language: Language, timezone: string): Map<number, [Buffer, Buffer]> {
  const key = `${language}|${timezone}`;
  let byMs = datesSeen.get(key);
  if (!byMs) {
    if (datesKept >= DATES_KEPT) {
      datesSeen.clear();
      dateEncodings.clear();
      datesKept = 0;
    }
    byMs = new Map();
    datesSeen.set(key, byMs);
  }
  return byMs;
}

function dateOf(byMs: Map<number, [Buffer, Buffer]>, ms: number, reader: Reader): [Buffer, Buffer] {
  let d = byMs.get(ms);
  if (!d) {
    const s = formatDate(ms, reader.language, reader.timezone);
    d = dateEncodings.get(s);
    if (!d) {
      d = [qpPiece(s), qpPiece(escapeHtml(s))];
      dateEncodings.set(s, d);
    }
    byMs.set(ms, d);
    datesKept += 1;
  }
  return d;
}

/** A reader's values, each encoded once for the text and, escaped, for the HTML (once when escaping changes nothing). */
type Values = Record<ReaderSlot, string | [Buffer, Buffer]>;

function readerValue(values: Values, slot: ReaderSlot, html: boolean): Buffer {
  let v = values[slot];
  if (typeof v === "string") {
    const text = qpPiece(v, false);
    const escaped = escapeHtml(v);
    v = [text, escaped === v ? text : qpPiece(escaped, false)];
    values[slot] = v;
  }
  return v[html ? 1 : 0];
}

/** A body's pieces with the reader's values and dates in. (No closures: this runs for every email.) */
function filled(
  pieces: BodyPiece[],
  html: boolean,
  values: Values,
  dates: Map<number, [Buffer, Buffer]>,
  reader: Reader,
) {
  const out: Buffer[] = new Array(pieces.length);
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    out[i] =
      typeof p === "object"
        ? p
        : typeof p === "number"
          ? dateOf(dates, p, reader)[html ? 1 : 0]
          : readerValue(values, p, html);
  }
  return out;
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
  const c = cutOf(m);
  const dates = datesIn(reader.language, reader.timezone);
  const values: Values = {
    greeting: MAIL_STRINGS[reader.language].greeting(reader.name),
    unsubscribe: reader.unsubscribeUrl ?? "",
    preferences: reader.preferencesUrl ?? "",
    confirm: reader.confirmUrl ?? "",
  };
  const text = filled(c.text, false, values, dates, reader);
  const html = filled(c.html, true, values, dates, reader);
  return buildSplicedMail({ ...e, subject: m.subject }, text, html, now);
}
