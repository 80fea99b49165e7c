// One email as raw MIME: addresses, the deterministic Message-ID, the list headers and a
// multipart/alternative body (text + HTML from the same data). Built here rather than by
// nodemailer's composer because a fan-out sends many copies of one rendered segment: with the
// parts encoded straight into one buffer and headers we encode ourselves, a message costs
// microseconds instead of milliseconds. buildMail encodes whole bodies (base64); the send job
// uses buildSplicedMail, whose bodies are quoted-printable pieces encoded once per segment
// (see below and personalise.ts). smtp.ts sends the buffer as it is (nodemailer signs DKIM).
// Header safety: every value passes headerSafe (no CR/LF/control characters) and non-ASCII is
// RFC 2047-encoded, so no release title or subscriber name can add a header.
import { createHash } from "node:crypto";
import type Mail from "nodemailer/lib/mailer";
import { encodeWords, foldLines, isPlainText, quoteString } from "nodemailer/lib/mime-funcs";
import { headerSafe } from "../templates/render.ts";

/**
 * Messages built here: CRLF lines, none opening with "." (headers open with a name or a space,
 * base64 has no ".", qpPiece writes a line's first "." as =2E). SMTP sends them without looking
 * for a line to dot-stuff (smtp.ts toWire), which is ~4 % of a digest's CPU per email.
 */
const wireReady = new WeakSet<Buffer>();

/** Whether `raw` is a message built here, as it was built. */
export function builtHere(raw: Buffer): boolean {
  return wireReady.has(raw);
}

/** The domain of MAIL_FROM ("Herald <news@example.org>" -> "example.org"), for Message-IDs. */
export function senderDomain(mailFrom: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(mailFrom.trim());
  return m ? m[1]!.toLowerCase() : "localhost";
}

/** Same (edition, subscriber) -> same Message-ID: a resend is recognisably the same message. */
export function messageIdFor(edition: string, subscriberId: string, domain: string): string {
  return `<${edition}.${subscriberId}@${domain}>`;
}

/**
 * The reader a Message-ID of ours was sent to (the inverse of messageIdFor), or undefined when
 * it is not one of ours: a bounce or complaint names the message it is about this way.
 */
export function readerOfMessageId(messageId: string, domain: string): string | undefined {
  // Capped at a header line's length (RFC 5322): the pattern must not run over a megabyte.
  const m = /\.(s[0-9a-f]{20})@([^>\s]+)>/i.exec(messageId.slice(0, 998));
  return m && m[2]!.toLowerCase() === domain ? m[1]!.toLowerCase() : undefined;
}

export interface Envelope {
  from: string;
  to: { name?: string; address: string };
  subject: string;
  html: string;
  text: string;
  messageId: string;
  language: string;
  /** PUBLIC_URL/unsubscribe?token=…: sent as List-Unsubscribe with RFC 8058 one-click. */
  unsubscribeUrl?: string;
  /** RFC 2919 `Name <label.domain>`: list mail only (alerts, digests, notices), not a confirmation. */
  listId?: string;
}

/** "Name <a@b>" or "a@b" -> [name, address]. */
export function splitAddress(s: string): { name?: string; address: string } {
  const m = /^\s*(.*?)\s*<([^<>\s]+)>\s*$/.exec(s);
  if (!m) return { address: s.trim() };
  const name = m[1]!.replace(/^"(.*)"$/, "$1");
  return name ? { name, address: m[2]! } : { address: m[2]! };
}

function address(a: { name?: string; address: string }): string {
  const addr = headerSafe(a.address, 254).replace(/[<>,;"\s]/g, "");
  if (!a.name) return addr;
  const name = headerSafe(a.name, 100);
  return `${isPlainText(name) ? quoteString(name) : encodeWords(name, "Q", 52, true)} <${addr}>`;
}

function header(name: string, value: string): string {
  return foldLines(`${name}: ${value}`, 76, false).replace(/\r?\n/g, "\r\n").replace(/\r\n$/, "");
}

/** Length of `src` in base64 lines of 76 characters joined by CRLF (RFC 2045). */
function base64LinesLength(src: Buffer): number {
  return Math.ceil(src.length / 3) * 4 + Math.max(0, Math.ceil(src.length / 57) - 1) * 2;
}

/**
 * Writes `src` as base64 lines of 76 characters into `out` at `at`; returns the end offset.
 * The base64 is written once at the end of its room and its lines moved down into place, so no
 * line-split copy of the whole part is made: a fan-out sends a thousand of these a second, and
 * every whole-body copy per message is garbage that makes the heap (and RSS) grow.
 */
function writeBase64Lines(out: Buffer, at: number, src: Buffer): number {
  const lines = Math.ceil(src.length / 57);
  const n = Math.ceil(src.length / 3) * 4;
  const from = at + Math.max(0, lines - 1) * 2;
  out.write(src.toString("base64"), from, "latin1");
  for (let k = 0; k < lines; k++) {
    if (k > 0) {
      out[at++] = 13;
      out[at++] = 10;
    }
    const start = from + k * 76;
    const end = Math.min(from + n, start + 76);
    out.copyWithin(at, start, end);
    at += end - start;
  }
  return at;
}

/** The List-Id value with its phrase RFC 2047-encoded when it is not plain ASCII. */
function listIdValue(listId: string): string {
  const m = /^(.*?)\s*<([^<>\s]+)>$/.exec(headerSafe(listId, 250));
  if (!m) return `<${headerSafe(listId, 250).replace(/[<>\s]/g, "")}>`;
  const name = m[1]!;
  if (!name) return `<${m[2]}>`;
  return `${isPlainText(name) ? quoteString(name) : encodeWords(name, "Q", 52, true)} <${m[2]}>`;
}

/** RFC 5322 date, e.g. "Sat, 28 Nov 2026 10:00:00 +0000". */
function rfc5322Date(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, "+0000");
}

/** The message's header block up to the first part's body, the text between the parts, and the end. */
type TransferEncoding = "base64" | "quoted-printable";
/** The last value of a function of one string: a fan-out sends thousands of messages with the same sender, list and (per segment) subject. */
function lastOf<T>(f: (s: string) => T): (s: string) => T {
  let last: { s: string; v: T } | undefined;
  return (s) => {
    if (last?.s !== s) last = { s, v: f(s) };
    return last.v;
  };
}
const fromOf = lastOf((s) => {
  const from = splitAddress(s);
  return { from, line: header("From", address(from)) };
});
const subjectLine = lastOf((s) => {
  const subject = headerSafe(s, 250);
  return header("Subject", isPlainText(subject) ? subject : encodeWords(subject, "Q", 52, true));
});
const listIdLine = lastOf((s) => header("List-Id", listIdValue(s)));

function frame(
  e: Omit<Envelope, "html" | "text">,
  now: number,
  textEncoding: TransferEncoding,
  htmlEncoding: TransferEncoding,
): { head: string; between: string; tail: string; from: { name?: string; address: string } } {
  const { from, line: fromLine } = fromOf(e.from);
  const boundary = `=_herald_${createHash("sha1").update(e.messageId).digest("hex").slice(0, 24)}`;
  const lines = [
    fromLine,
    header("To", address(e.to)),
    subjectLine(e.subject),
    `Message-ID: ${headerSafe(e.messageId, 250)}`,
    `Date: ${rfc5322Date(now)}`,
    "MIME-Version: 1.0",
    `Content-Language: ${headerSafe(e.language, 20)}`,
  ];
  if (e.listId) lines.push(listIdLine(e.listId));
  if (e.unsubscribeUrl) {
    lines.push(
      `List-Unsubscribe:\r\n <${headerSafe(e.unsubscribeUrl, 900)}>`,
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    );
  }
  lines.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
  // Each part opens with its boundary and headers and a blank line; the body follows.
  const part = (type: string, encoding: string) =>
    [
      "",
      `--${boundary}`,
      `Content-Type: ${type}; charset=utf-8`,
      `Content-Transfer-Encoding: ${encoding}`,
      "",
      "",
    ].join("\r\n");
  const head = `${lines.join("\r\n")}\r\n${part("text/plain", textEncoding)}`;
  const between = part("text/html", htmlEncoding);
  return { head, between, tail: `\r\n--${boundary}--\r\n`, from };
}

export function buildMail(e: Envelope, now: number): Mail.Options {
  const { head, between, tail, from } = frame(e, now, "base64", "base64");
  // The whole message as one buffer: headers, then both parts in base64 (nodemailer sends a
  // buffer as it is, without converting a string first).
  const text = Buffer.from(e.text, "utf8");
  const html = Buffer.from(e.html, "utf8");
  const size =
    Buffer.byteLength(head) +
    base64LinesLength(text) +
    Buffer.byteLength(between) +
    base64LinesLength(html) +
    Buffer.byteLength(tail);
  const raw = Buffer.allocUnsafe(size);
  let at = raw.write(head, 0, "utf8");
  at = writeBase64Lines(raw, at, text);
  at += raw.write(between, at, "utf8");
  at = writeBase64Lines(raw, at, html);
  raw.write(tail, at, "utf8");
  wireReady.add(raw);
  return { envelope: { from: from.address, to: [e.to.address] }, raw, messageId: e.messageId };
}

// Spliced bodies. A fan-out sends one segment's body to thousands of readers with a few values
// changed (greeting, links, dates in the reader's zone). Base64 can only be joined at 3-byte
// boundaries, so the parts go as quoted-printable instead, in pieces each encoded on its own and
// ended by a soft line break ("=" CRLF, which decodes to nothing): the unchanging pieces are
// encoded once per segment, the reader's values per message, and the body is their concatenation.
// Every byte other than printable ASCII (line feeds included) is =XX, so the decoded part is
// exactly the string that went in; lines stay within 76 characters (RFC 2045), and none opens
// with "." (so SMTP needs no dot-stuffing).
const HEX = Buffer.from("0123456789ABCDEF", "latin1");

/** Bytes written as they are: printable ASCII but "=", and space and tab. */
const LITERAL = new Uint8Array(256);
for (let b = 33; b <= 126; b++) LITERAL[b] = 1;
LITERAL[61] = 0;
LITERAL[32] = 1;
LITERAL[9] = 1;
/** Scratch for qpPiece (the UTF-8 of `s`, and its encoding), reused: it runs per piece of every segment. */
const SCRATCH_MAX = 256 * 1024;
let utf8Scratch = Buffer.allocUnsafeSlow(16 * 1024);
let qpScratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * `s` as quoted-printable lines, ended by a soft line break; empty for an empty string. `kept`:
 * the piece outlives the message (see below); a reader's values are garbage after one message
 * and come from Node's pool, which is cheaper for small buffers.
 */
export function qpPiece(s: string, kept = true): Buffer {
  if (s.length === 0) return Buffer.alloc(0);
  // One pass into scratch buffers, then one allocation of the exact size (a fan-out encodes a
  // segment's body per reader zone: no scratch buffer three times its size per piece). A piece
  // larger than the scratch gets buffers of its own, so one huge body does not stay in memory.
  const big = s.length * 3 > SCRATCH_MAX;
  if (!big && utf8Scratch.length < s.length * 3) utf8Scratch = Buffer.allocUnsafeSlow(SCRATCH_MAX);
  const src = big ? Buffer.from(s, "utf8") : utf8Scratch;
  const n = big ? src.length : src.write(s, 0, "utf8");
  // At most 3 characters per byte, a soft line break per 72 of them, and the closing one.
  const max = 3 * n + 3 * Math.ceil((3 * n) / 72) + 3;
  if (!big && qpScratch.length < max) qpScratch = Buffer.allocUnsafeSlow(Math.max(max, 4 * SCRATCH_MAX));
  const tmp = big ? Buffer.allocUnsafe(max) : qpScratch;
  let at = 0;
  let line = 0;
  for (let i = 0; i < n; i++) {
    const b = src[i]!;
    // A "." never opens a line (=2E instead): the message goes to SMTP as it is (smtp.ts toWire).
    let literal = LITERAL[b] === 1 && (b !== 46 || line > 0);
    if (line + (literal ? 1 : 3) > 75) {
      tmp[at++] = 61;
      tmp[at++] = 13;
      tmp[at++] = 10;
      line = 0;
      literal = LITERAL[b] === 1 && b !== 46;
    }
    if (literal) {
      tmp[at++] = b;
      line += 1;
    } else {
      tmp[at++] = 61;
      tmp[at++] = HEX[b >> 4]!;
      tmp[at++] = HEX[b & 15]!;
      line += 3;
    }
  }
  tmp[at++] = 61;
  tmp[at++] = 13;
  tmp[at++] = 10;
  // Not from Node's shared 8 KB pool: a segment keeps its small pieces for as long as it is
  // cached, and a pooled one would keep its whole slab (of other, dead buffers) alive with it.
  const out = kept ? Buffer.allocUnsafeSlow(at) : Buffer.allocUnsafe(at);
  tmp.copy(out, 0, 0, at);
  return out;
}

/** Bytes of a part made of qpPiece pieces, without the last soft break when it may go (see writeQp). */
function qpLength(pieces: Buffer[]): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n - (droppableEnd(pieces) ? 3 : 0);
}

/** The last piece's closing soft break can go unless a space or tab precedes it (a decoder would strip that). */
function droppableEnd(pieces: Buffer[]): boolean {
  for (let i = pieces.length - 1; i >= 0; i--) {
    const p = pieces[i]!;
    if (p.length === 0) continue;
    const c = p[p.length - 4];
    return c !== 32 && c !== 9;
  }
  return false;
}

function writeQp(out: Buffer, at: number, pieces: Buffer[]): number {
  const drop = droppableEnd(pieces);
  let last = pieces.length - 1;
  while (last >= 0 && pieces[last]!.length === 0) last--;
  // Uint8Array's set, not Buffer's copy: a message has a hundred pieces, and copy's checks cost
  // more than copying most of them.
  for (let i = 0; i < last; i++) {
    const p = pieces[i]!;
    out.set(p, at);
    at += p.length;
  }
  if (last >= 0) {
    const p = pieces[last]!;
    const n = drop ? p.length - 3 : p.length;
    out.set(n === p.length ? p : p.subarray(0, n), at);
    at += n;
  }
  return at;
}

/**
 * One email from bodies already in quoted-printable pieces (qpPiece): the same headers as
 * buildMail, one buffer, and no whole-body encoding per message.
 */
export function buildSplicedMail(
  e: Omit<Envelope, "html" | "text">,
  text: Buffer[],
  html: Buffer[],
  now: number,
): Mail.Options {
  // An empty part is declared base64 (also empty): mailparser reads an empty quoted-printable
  // part as a line break.
  const enc = (pieces: Buffer[]): TransferEncoding => (qpLength(pieces) === 0 ? "base64" : "quoted-printable");
  const { head, between, tail, from } = frame(e, now, enc(text), enc(html));
  const size =
    Buffer.byteLength(head) + qpLength(text) + Buffer.byteLength(between) + qpLength(html) + Buffer.byteLength(tail);
  const raw = rawBuffer(size);
  let at = raw.write(head, 0, "utf8");
  at = writeQp(raw, at, text);
  at += raw.write(between, at, "utf8");
  at = writeQp(raw, at, html);
  raw.write(tail, at, "utf8");
  wireReady.add(raw);
  return { envelope: { from: from.address, to: [e.to.address] }, raw, messageId: e.messageId };
}

// Raw message buffers, reused. A fan-out builds a whole message (~20-250 KB) per reader, and
// each lives until the server accepts it, long enough to outlive young-generation GCs: as
// garbage they only go at a full GC, which V8 starts once ~64 MB of such memory has piled up.
// Once the server has accepted a message, nothing reads its buffer any more (the server answers
// only after the last byte), so the send job hands it back (recycleRaw) and the next message is
// written into it. Only buffers made here, only after acceptance, and each once: a buffer is
// never in the idle list while a message in it may still be sent.
const RAW_IDLE_MAX = 48;
const RAW_IDLE_BYTES = 4 * 1024 * 1024;
/** Buffers made by rawBuffer, by their memory: true while idle (in `idle`), false while a message uses it. */
const rawState = new WeakMap<ArrayBuffer, boolean>();
const idle: Buffer[] = [];
let idleBytes = 0;

/** A buffer of `size` bytes for one message: an idle one that fits (at most twice as large), else a new one. */
function rawBuffer(size: number): Buffer {
  let best = -1;
  for (let i = 0; i < idle.length; i++) {
    const n = idle[i]!.length;
    if (n >= size && n <= 2 * size && (best < 0 || n < idle[best]!.length)) best = i;
  }
  let buf: Buffer;
  if (best >= 0) {
    buf = idle[best]!;
    idle[best] = idle[idle.length - 1]!;
    idle.pop();
    idleBytes -= buf.length;
  } else {
    // A little room above the size, so a slightly larger message can reuse it.
    buf = Buffer.allocUnsafeSlow(Math.ceil((size + 1) / 4096) * 4096);
  }
  rawState.set(buf.buffer as ArrayBuffer, false);
  return buf.subarray(0, size);
}

/**
 * Hands a message's raw buffer back for the next message: call only once the server accepted
 * the message (nothing reads it after that). A buffer made elsewhere, or already handed back, is
 * left alone.
 */
export function recycleRaw(message: Mail.Options): void {
  const raw = message.raw;
  if (!Buffer.isBuffer(raw)) return;
  const memory = raw.buffer as ArrayBuffer;
  if (rawState.get(memory) !== false) return;
  if (idle.length >= RAW_IDLE_MAX || idleBytes + memory.byteLength > RAW_IDLE_BYTES) return;
  rawState.set(memory, true);
  const whole = Buffer.from(memory);
  idle.push(whole);
  idleBytes += whole.length;
}
