// CSV import: header `email,name,language,frequency,topics,regions,timezone` (any order; only
// email is required; topics and regions `;`-separated). The file must be UTF-8: one that is not
// is refused whole, with the line of its first bad byte. Every bad row is reported with its line
// number and reason; the good ones are imported. Re-importing updates, never duplicates (the
// id is derived from the address). A row is a partial update: an empty cell leaves that field as
// it is (a new address gets the default), `-` clears it back to its default.
//
// Streamed, so memory does not grow with the file: a file is read as chunks (CsvSource), and
// what is refused whole (not UTF-8, a quote that never closes, a bad header) is found by a first
// pass (checkSubscriberCsv) that holds one chunk; the rows are then read again and handed over in
// batches (subscriberCsvBatches). Duplicate addresses are found through a FirstSeen the caller
// gives (csv-import.ts keeps it in Redis, so the process holds no set of every address).
import { isUtf8 } from "node:buffer";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CsvError, parse } from "csv-parse";
import { describeIssues, formatIssues } from "../releases/model.ts";
import { invalid } from "../errors.ts";
import { emailKey, type SubscriberPatch, subscriberPatchSchema } from "./model.ts";

/** A CSV's bytes, readable from the start as often as needed (a file is read twice: check, then import). */
export type CsvSource = () => AsyncIterable<Uint8Array>;

/** A CSV already in memory as a source, cut into `chunkSize`-byte chunks. */
export function memorySource(content: string | Uint8Array, chunkSize = 64 * 1024): CsvSource {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  return async function* () {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  };
}

/**
 * The refusal of a file that is not UTF-8 (a list saved as Latin-1 or Windows-1252 from a
 * spreadsheet, or UTF-16): its first bad byte is on `line`, `column` bytes in, `bad` is that byte
 * and the 3 after it; `utf16`: the file starts with a UTF-16 byte order mark. Decoding with
 * replacement would store U+FFFD in readers' names; refusing the whole file means nothing of it
 * is stored.
 */
function notUtf8(utf16: boolean, line: number, column: number, bad: ArrayLike<number>): Error {
  if (utf16) return invalid('the CSV is UTF-16, not UTF-8: save it as "CSV UTF-8" and import it again');
  const hex = Array.from(bad, (b) => b.toString(16).padStart(2, "0")).join(" ");
  return invalid(
    `the CSV is not valid UTF-8: line ${line}, byte ${column} (${hex}); save it as "CSV UTF-8" and import it again (nothing was imported)`,
    [{ path: `line ${line}`, message: "not valid UTF-8" }],
  );
}

const isUtf16 = (b: ArrayLike<number>) => (b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff);

/** Counts lines over chunks: LF, CRLF (once) and a lone CR each end one. */
class LineCounter {
  line = 1;
  /** File offset of the first byte of the current line. */
  lineStart = 0;
  private offset = 0;
  /** The last byte fed was a CR: whether it ends a line (alone) or its LF will, the next byte says. */
  private cr = false;

  feed(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.cr && b !== 0x0a) this.newLine(this.offset + i);
      this.cr = b === 0x0d;
      if (b === 0x0a) this.newLine(this.offset + i + 1);
    }
    this.offset += chunk.length;
  }

  /** After the last byte fed: `next` is the byte that follows it (undefined: none). */
  settle(next: number | undefined): void {
    if (this.cr && next !== 0x0a) this.newLine(this.offset);
    this.cr = false;
  }

  private newLine(start: number): void {
    this.line++;
    this.lineStart = start;
  }
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence (RFC 3629), or the length. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0; // no overlong forms
      if (c === 0xed) hi = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90; // no overlong forms
      if (c === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += n + 1;
  }
  return b.length;
}

/**
 * Strict UTF-8 over chunks: a sequence cut by a chunk boundary is held (at most 3 bytes) and
 * checked with the next chunk. push() and end() give the file offset of the first bad byte, or -1.
 */
export class Utf8Check {
  private offset = 0;
  private carry: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): number {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = buf.length - incompleteTail(buf);
    const whole = buf.subarray(0, cut);
    if (!isUtf8(whole)) return this.offset + firstInvalidUtf8(whole);
    this.carry = Uint8Array.from(buf.subarray(cut));
    this.offset += cut;
    return -1;
  }

  /** At the end of the file a held sequence is cut off: bad. */
  end(): number {
    return this.carry.length ? this.offset : -1;
  }
}

/** How many bytes at the end of `b` begin a sequence that the next chunk may complete (0-3). */
function incompleteTail(b: Uint8Array): number {
  for (let k = 1; k <= Math.min(3, b.length); k++) {
    const c = b[b.length - k]!;
    if (c >= 0x80 && c <= 0xbf) continue; // a continuation byte: look further back
    const length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return length > k ? k : 0;
  }
  return 0;
}

export const CSV_COLUMNS = ["email", "name", "language", "frequency", "topics", "regions", "timezone"] as const;

export interface CsvRow {
  /** 1-based line number where the row starts. */
  line: number;
  cells: string[];
}

/**
 * RFC 4180 through csv-parse: quoted fields may hold commas, quotes ("") and line breaks; rows
 * end in CRLF, LF or a lone CR (each row on its own, so a file with mixed line ends reads as
 * it looks). Options, and why:
 *   - relax_quotes: a quote inside an unquoted cell is a letter (`<a title="x">` in a name is
 *     one cell, refused by the name rule with its line number, not a parse error for the file);
 *   - relax_column_count: a row with too many cells is reported on its own line by
 *     SubscriberRows, the other rows still import.
 * With these, the only error csv-parse raises is a quote that never closes (CSV_QUOTE_NOT_CLOSED).
 */
const PARSE_OPTIONS = { relax_quotes: true, relax_column_count: true, record_delimiter: ["\r\n", "\n", "\r"] };

/**
 * The rows of a CSV (a leading BOM skipped; rows of only blank cells skipped), read as a stream:
 * it holds a chunk and the few rows csv-parse reads ahead, whatever the file's size. A quote
 * that opens a cell and never closes is refused for the whole file (400, naming the line where
 * the cell starts): where the row ends is unknowable. That is only known at the end of the file,
 * after the rows before it were given: callers that write check the file first.
 *
 * Line numbers are counted here, not taken from csv-parse's `info`: `info.lines` counts the CR and
 * the LF of a CRLF inside a quoted cell as two lines and gives the line a row ends on (the
 * start line is what a person looks for), and `info: true` doubles the parse time (measured:
 * 100,000 rows, 6.8 MB, 0.6 s -> 1.5 s). Every record, a blank line included, ends with one
 * line break, so a row starts one line after the previous one ends, plus the line breaks
 * inside its quoted cells.
 */
export async function* csvRows(
  source: CsvSource,
  /** The bytes to parse, when not source() as it is (checkSubscriberCsv checks them on the way). */
  chunks: AsyncIterable<Uint8Array> = source(),
): AsyncGenerator<CsvRow> {
  const parser = parse(PARSE_OPTIONS);
  // Ends with the parser: an error, or a reader that stops early, closes the file too.
  const feeding = pipeline(Readable.from(withoutBom(chunks), { objectMode: false }), parser).catch(() => {});
  let line = 1;
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      if (cells.some((x) => x.trim() !== "")) yield { line, cells };
      line += 1;
      for (const cell of cells) if (cell.includes("\n") || cell.includes("\r")) line += cell.match(LINE_BREAK)!.length;
    }
  } catch (err) {
    if (err instanceof CsvError && err.code === "CSV_QUOTE_NOT_CLOSED") {
      const at = await lineOfOpenQuote(source);
      throw invalid(
        `the CSV has a quote that never closes: the cell opened on line ${at} runs to the end of the file; close it (a quote inside a quoted cell is written "") and import again (nothing was imported)`,
        [{ path: `line ${at}`, message: "quote never closed" }],
      );
    }
    throw err;
  } finally {
    parser.destroy();
    await feeding;
  }
}

const LINE_BREAK = /\r\n|\r|\n/g;

/** The chunks without a leading UTF-8 BOM (however the first chunks are cut). */
async function* withoutBom(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let head: Uint8Array = new Uint8Array(0);
  let started = false;
  for await (const chunk of chunks) {
    if (started) {
      yield chunk;
      continue;
    }
    head = head.length ? Buffer.concat([head, chunk]) : chunk;
    if (head.length < 3) continue;
    started = true;
    yield head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? head.subarray(3) : head;
  }
  if (!started && head.length) yield head;
}

/**
 * The line where the last opened quoted cell starts (only called when one never closes): the
 * file read once more. Works on bytes: the characters it looks at are ASCII, and no byte of a
 * multi-byte UTF-8 character is.
 */
async function lineOfOpenQuote(source: CsvSource): Promise<number> {
  let line = 1;
  let openedOn = 1;
  let quoted = false;
  let cellStart = true;
  // A quote or a CR at the end of a chunk waits for the next byte (`""`, CRLF).
  let held: Uint8Array = new Uint8Array(0);
  const scan = (src: Uint8Array, last: boolean): void => {
    const end = last ? src.length : src.length - 1;
    let i = 0;
    for (; i < end; i++) {
      const c = src[i]!;
      if (c === 0x0a || (c === 0x0d && src[i + 1] !== 0x0a)) line++;
      if (quoted) {
        if (c === 0x22 && src[i + 1] === 0x22) i++;
        else if (c === 0x22) quoted = false;
      } else if (c === 0x22 && cellStart) {
        quoted = true;
        openedOn = line;
      }
      cellStart = !quoted && (c === 0x2c || c === 0x0a || c === 0x0d);
    }
    held = src.subarray(i);
  };
  for await (const chunk of withoutBom(source())) scan(held.length ? Buffer.concat([held, chunk]) : chunk, false);
  scan(held, true);
  return openedOn;
}

export interface RowError {
  line: number;
  reason: string;
}

/** A valid row: the changes it asks for. */
export interface PatchRow {
  line: number;
  input: SubscriberPatch;
}

/** The header, checked: its column names, lower-cased. Throws (400) for one Herald cannot read. */
function headerNames(header: CsvRow | undefined): string[] {
  if (!header) throw invalid(`the CSV is empty: its first line must be the header ${CSV_COLUMNS.join(",")}`);
  const names = header.cells.map((h) => h.trim().toLowerCase());
  const unknown = names.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n));
  if (unknown.length || !names.includes("email")) {
    throw invalid(
      `bad CSV header ${JSON.stringify(header.cells.join(","))}: expected columns from ${CSV_COLUMNS.join(",")}, with email${unknown.length ? `; unknown: ${unknown.join(", ")}` : ""}`,
    );
  }
  return names;
}

/** One data row against the header: the patch it asks for, or why it is refused. */
function readRow(names: string[], r: CsvRow): PatchRow | RowError {
  if (r.cells.length > names.length) {
    return { line: r.line, reason: `${r.cells.length} fields, the header has ${names.length}` };
  }
  const raw: Record<string, string> = {};
  names.forEach((n, i) => {
    const v = (r.cells[i] ?? "").trim();
    if (v !== "") raw[n] = v;
  });
  const parsed = subscriberPatchSchema.safeParse(raw);
  if (!parsed.success) return { line: r.line, reason: formatIssues(describeIssues(parsed.error)) };
  return { line: r.line, input: parsed.data };
}

/**
 * The first pass over a file: refuses it whole (400) when it is not UTF-8 (notUtf8, naming the
 * line and the byte), has a quote that never closes, or has a header Herald cannot read.
 * Otherwise the number of data rows (the progress bar's total). Holds one chunk at a time; the
 * UTF-8 refusal wins over the others, as when the whole file was decoded first.
 */
export async function checkSubscriberCsv(source: CsvSource): Promise<number> {
  const utf8 = new Utf8Check();
  async function* checked(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source()) {
      const bad = utf8.push(chunk);
      if (bad >= 0) throw await refuseAt(source, bad);
      yield chunk;
    }
    const bad = utf8.end();
    if (bad >= 0) throw await refuseAt(source, bad);
  }
  let header: CsvRow | undefined;
  let rows = 0;
  for await (const row of csvRows(source, checked())) {
    if (header) rows++;
    else header = row;
  }
  headerNames(header);
  return rows;
}

/** notUtf8 for the byte at `at` of a file: read again up to it, to name its line and show it. */
async function refuseAt(source: CsvSource, at: number): Promise<Error> {
  const lines = new LineCounter();
  const first: number[] = [];
  const bad: number[] = [];
  let offset = 0;
  for await (const chunk of source()) {
    for (const b of chunk.subarray(0, 2 - first.length)) first.push(b);
    const before = chunk.subarray(0, Math.max(0, at - offset));
    lines.feed(before);
    for (const b of chunk.subarray(before.length, before.length + 4 - bad.length)) bad.push(b);
    offset += chunk.length;
    if (bad.length === 4) break;
  }
  lines.settle(bad[0]);
  return notUtf8(isUtf16(first), lines.line, at - lines.lineStart + 1, bad);
}

/**
 * Remembers which addresses a file has given and on which line, so that a second spelling of one
 * (emailKey: `ANA@x.org` and `ana@x.org` are one mailbox) is a duplicate. claim() takes keys in
 * file order and gives, for each, the line it was first given on, or null (first time: remembered).
 */
export interface FirstSeen {
  claim(rows: { key: string; line: number }[]): Promise<(number | null)[]>;
}

/** A FirstSeen in this process's memory: for CSVs already in memory. */
export function memorySeen(): FirstSeen {
  const seen = new Map<string, number>();
  return {
    async claim(rows) {
      return rows.map(({ key, line }) => {
        const first = seen.get(key);
        if (first === undefined) seen.set(key, line);
        return first ?? null;
      });
    },
  };
}

/** A batch of rows read: the valid ones and the refused ones (each in file order), and how many rows it read. */
export interface CsvBatch {
  rows: PatchRow[];
  errors: RowError[];
  read: number;
}

/**
 * The second pass: the file's data rows, checked, in batches of at most `size` rows read. Row
 * errors (bad cells, too many cells, a duplicate address) are in the batch with their line; what
 * refuses the whole file throws (see checkSubscriberCsv, which finds it before anything is
 * written). Holds one batch: the next is read only when the caller asks for it.
 */
export async function* subscriberCsvBatches(
  source: CsvSource,
  seen: FirstSeen,
  size: number,
): AsyncGenerator<CsvBatch> {
  let names: string[] | undefined;
  let pending: (PatchRow | RowError)[] = [];
  const flush = async (): Promise<CsvBatch> => {
    const batch: CsvBatch = { rows: [], errors: [], read: pending.length };
    const valid = pending.filter((r): r is PatchRow => "input" in r);
    const first = await seen.claim(valid.map((r) => ({ key: emailKey(r.input.email), line: r.line })));
    valid.forEach((r, i) => {
      if (first[i] === null) batch.rows.push(r);
      else batch.errors.push({ line: r.line, reason: `${r.input.email} already appears on line ${first[i]}` });
    });
    for (const r of pending) if (!("input" in r)) batch.errors.push(r);
    batch.errors.sort((a, b) => a.line - b.line);
    pending = [];
    return batch;
  };
  for await (const row of csvRows(source)) {
    if (!names) {
      names = headerNames(row);
      continue;
    }
    pending.push(readRow(names, row));
    if (pending.length >= size) yield await flush();
  }
  if (!names) headerNames(undefined);
  if (pending.length) yield await flush();
}

/**
 * A CSV in memory, all its rows at once: valid inputs and per-line errors. Throws (400) for a
 * quote that never closes or a bad header (not for bytes that are not UTF-8: checkSubscriberCsv).
 */
export async function readSubscriberCsv(text: string | Uint8Array): Promise<{ rows: PatchRow[]; errors: RowError[] }> {
  const out: { rows: PatchRow[]; errors: RowError[] } = { rows: [], errors: [] };
  for await (const b of subscriberCsvBatches(memorySource(text), memorySeen(), 500)) {
    out.rows.push(...b.rows);
    out.errors.push(...b.errors);
  }
  return out;
}
