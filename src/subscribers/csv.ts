// CSV import: header `email,name,language,frequency,topics,regions,timezone` (any order; only
// email is required; topics and regions `;`-separated). Every bad row is reported with its line
// number and reason; the good ones are imported. Re-importing updates, never duplicates (the
// id is derived from the address). A row is a partial update: an empty cell leaves that field as
// it is (a new address gets the default), `-` clears it back to its default.
import { describeIssues, formatIssues } from "../releases/model.ts";
import { invalid } from "../errors.ts";
import { type SubscriberPatch, subscriberPatchSchema } from "./model.ts";

export const CSV_COLUMNS = ["email", "name", "language", "frequency", "topics", "regions", "timezone"] as const;

export interface CsvRow {
  /** 1-based line number where the row starts. */
  line: number;
  cells: string[];
}

/** RFC 4180: quoted fields may hold commas, quotes ("") and line breaks; CRLF or LF. */
export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const src = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        cell += c;
      }
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === ",") {
      cells.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      cells.push(cell);
      if (cells.some((x) => x.trim() !== "")) rows.push({ line: rowLine, cells });
      cells = [];
      cell = "";
      line++;
      rowLine = line;
    } else cell += c;
  }
  cells.push(cell);
  if (cells.some((x) => x.trim() !== "")) rows.push({ line: rowLine, cells });
  return rows;
}

export interface RowError {
  line: number;
  reason: string;
}

/** Splits a CSV into valid subscriber inputs and per-line errors. Throws for a bad header. */
export function readSubscriberCsv(text: string): { rows: { line: number; input: SubscriberPatch }[]; errors: RowError[] } {
  const [header, ...data] = parseCsv(text);
  if (!header) throw invalid(`the CSV is empty: its first line must be the header ${CSV_COLUMNS.join(",")}`);
  const names = header.cells.map((h) => h.trim().toLowerCase());
  const unknown = names.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n));
  if (unknown.length || !names.includes("email")) {
    throw invalid(`bad CSV header ${JSON.stringify(header.cells.join(","))}: expected columns from ${CSV_COLUMNS.join(",")}, with email${unknown.length ? `; unknown: ${unknown.join(", ")}` : ""}`);
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
    const first = seen.get(parsed.data.email);
    if (first !== undefined) {
      errors.push({ line: r.line, reason: `${parsed.data.email} already appears on line ${first}` });
      continue;
    }
    seen.set(parsed.data.email, r.line);
    rows.push({ line: r.line, input: parsed.data });
  }
  return { rows, errors };
}
