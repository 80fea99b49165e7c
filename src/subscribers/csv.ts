// CSV import: header `email,name,language,frequency,topics,regions,timezone` (any order; only
// email is required; topics and regions `;`-separated). The file must be UTF-8 (decodeCsv): one
// that is not is refused whole, with the line of its first bad byte. Every bad row is reported with its line
// number and reason; the good ones are imported. Re-importing updates, never duplicates (the
// id is derived from the address). A row is a partial update: an empty cell leaves that field as
// it is (a new address gets the default), `-` clears it back to its default.
import { CsvError, parse } from "csv-parse/sync";
import { describeIssues, formatIssues } from "../releases/model.ts";
import { invalid } from "../errors.ts";
import { emailKey, type SubscriberPatch, subscriberPatchSchema } from "./model.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The file's text, or a 400 naming the first line that is not UTF-8 (a list saved as Latin-1 or
 * Windows-1252 from a spreadsheet, or UTF-16). Decoding with replacement would store U+FFFD in
 * readers' names; refusing the whole file means nothing of it is stored.
 */
export function decodeCsv(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      throw invalid('the CSV is UTF-16, not UTF-8: save it as "CSV UTF-8" and import it again');
    }
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at; i++) {
      if (bytes[i] === 0x0a || (bytes[i] === 0x0d && bytes[i + 1] !== 0x0a)) {
        line++;
        lineStart = i + 1;
      }
    }
    const hex = Array.from(bytes.subarray(at, Math.min(at + 4, bytes.length)), (b) =>
      b.toString(16).padStart(2, "0"),
    ).join(" ");
    throw invalid(
      `the CSV is not valid UTF-8: line ${line}, byte ${at - lineStart + 1} (${hex}); save it as "CSV UTF-8" and import it again (nothing was imported)`,
      [{ path: `line ${line}`, message: "not valid UTF-8" }],
    );
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

export const CSV_COLUMNS = ["email", "name", "language", "frequency", "topics", "regions", "timezone"] as const;

export interface CsvRow {
  /** 1-based line number where the row starts. */
  line: number;
  cells: string[];
}

/**
 * RFC 4180 through csv-parse: quoted fields may hold commas, quotes ("") and line breaks; rows
 * end in CRLF, LF or a lone CR (each row on its own, so a file with mixed line ends reads as
 * it looks). Rows of only blank cells are skipped. Options, and why:
 *   - relax_quotes: a quote inside an unquoted cell is a letter (`<a title="x">` in a name is
 *     one cell, refused by the name rule with its line number, not a parse error for the file);
 *   - relax_column_count: a row with too many cells is reported on its own line by
 *     readSubscriberCsv, the other rows still import;
 *   - a quote that opens a cell and never closes is refused for the whole file (400, naming
 *     the line where the cell starts): where the row ends is unknowable, so nothing is stored.
 * Line numbers are counted here, not taken from csv-parse's `info`: `info.lines` counts the CR and
 * the LF of a CRLF inside a quoted cell as two lines and gives the line a row ends on (the
 * start line is what a person looks for), and `info: true` doubles the parse time (measured:
 * 100,000 rows, 6.8 MB, 0.6 s -> 1.5 s). Every record, a blank line included, ends with one
 * line break, so a row starts one line after the previous one ends, plus the line breaks
 * inside its quoted cells.
 */
export function parseCsv(text: string): CsvRow[] {
  const src = text.replace(/^\uFEFF/, "");
  let records: string[][];
  try {
    records = parse(src, { relax_quotes: true, relax_column_count: true, record_delimiter: ["\r\n", "\n", "\r"] });
  } catch (err) {
    if (err instanceof CsvError && err.code === "CSV_QUOTE_NOT_CLOSED") {
      const line = lineOfOpenQuote(src);
      throw invalid(
        `the CSV has a quote that never closes: the cell opened on line ${line} runs to the end of the file; close it (a quote inside a quoted cell is written "") and import again (nothing was imported)`,
        [{ path: `line ${line}`, message: "quote never closed" }],
      );
    }
    throw err;
  }
  const rows: CsvRow[] = [];
  let line = 1;
  for (const cells of records) {
    if (cells.some((x) => x.trim() !== "")) rows.push({ line, cells });
    line += 1;
    for (const cell of cells) if (cell.includes("\n") || cell.includes("\r")) line += cell.match(LINE_BREAK)!.length;
  }
  return rows;
}

const LINE_BREAK = /\r\n|\r|\n/g;

/** The line where the last opened quoted cell starts (only called when one never closes). */
function lineOfOpenQuote(src: string): number {
  let line = 1;
  let openedOn = 1;
  let quoted = false;
  let cellStart = true;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === "\n" || (c === "\r" && src[i + 1] !== "\n")) line++;
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"' && cellStart) {
      quoted = true;
      openedOn = line;
    }
    cellStart = !quoted && (c === "," || c === "\n" || c === "\r");
  }
  return openedOn;
}

export interface RowError {
  line: number;
  reason: string;
}

/** Splits a CSV into valid subscriber inputs and per-line errors. Throws for a bad header. */
export function readSubscriberCsv(text: string): {
  rows: { line: number; input: SubscriberPatch }[];
  errors: RowError[];
} {
  const [header, ...data] = parseCsv(text);
  if (!header) throw invalid(`the CSV is empty: its first line must be the header ${CSV_COLUMNS.join(",")}`);
  const names = header.cells.map((h) => h.trim().toLowerCase());
  const unknown = names.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n));
  if (unknown.length || !names.includes("email")) {
    throw invalid(
      `bad CSV header ${JSON.stringify(header.cells.join(","))}: expected columns from ${CSV_COLUMNS.join(",")}, with email${unknown.length ? `; unknown: ${unknown.join(", ")}` : ""}`,
    );
  }
  const rows: { line: number; input: SubscriberPatch }[] = [];
  const errors: RowError[] = [];
  const seen = new Map<string, number>();
  for (const r of data) {
    if (r.cells.length > names.length) {
      errors.push({ line: r.line, reason: `${r.cells.length} fields, the header has ${names.length}` });
      continue;
    }
    const raw: Record<string, string> = {};
    names.forEach((n, i) => {
      const v = (r.cells[i] ?? "").trim();
      if (v !== "") raw[n] = v;
    });
    const parsed = subscriberPatchSchema.safeParse(raw);
    if (!parsed.success) {
      errors.push({ line: r.line, reason: formatIssues(describeIssues(parsed.error)) });
      continue;
    }
    // One reader per address however it is spelled (emailKey): two spellings are a duplicate.
    const first = seen.get(emailKey(parsed.data.email));
    if (first !== undefined) {
      errors.push({ line: r.line, reason: `${parsed.data.email} already appears on line ${first}` });
      continue;
    }
    seen.set(emailKey(parsed.data.email), r.line);
    rows.push({ line: r.line, input: parsed.data });
  }
  return { rows, errors };
}
