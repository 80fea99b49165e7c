// `herald subscribers import FILE.csv`, as a stream: two reads of the file, neither holding it.
//   1. checkSubscriberCsv (csv.ts): what refuses the file whole (not UTF-8, a quote that never
//      closes, a bad header) is found before anything is written; it also counts the rows.
//   2. importSubscriberCsv: the rows again, in batches of BATCH rows read; each batch is checked
//      (cells, duplicates, the vocabulary) while the one before is being written (upsertMany: every
//      row through the store's compare-and-set, so partial updates and suppressed statuses keep
//      their rules). At most two batches are held, whatever the file's size.
// Duplicate addresses are remembered in Redis for the length of the import (redisSeen), not in
// the process: a set of every address would grow with the file.
import { randomUUID } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";
import { formatIssues } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";
import {
  type CsvBatch,
  type CsvSource,
  checkSubscriberCsv,
  type FirstSeen,
  type RowError,
  subscriberCsvBatches,
} from "./csv.ts";
import { type SubscriberDeps, SubscriberService } from "./service.ts";

/** Rows read per batch: one upsertMany (a few round trips) each. */
const BATCH = 500;

/**
 * A file as a CsvSource: each read opens it again, 64 KiB at a time, and reads only the bytes
 * the file had when the source was made. So the import reads exactly what the check read, even
 * when something is still appending to the file (an export being written): the rest is left for
 * the next import, never taken in unchecked.
 */
export function fileSource(file: string): CsvSource {
  const { size } = statSync(file);
  return () => (size === 0 ? Readable.from([]) : createReadStream(file, { start: 0, end: size - 1 }));
}

/** A CSV that passed checkSubscriberCsv: nothing in it refuses the whole file. */
export interface CheckedCsv {
  source: CsvSource;
  /** Data rows (the header and blank lines not counted). */
  rows: number;
}

/** The first pass (see checkSubscriberCsv): throws (400) for a file refused whole. */
export async function checkCsv(source: CsvSource): Promise<CheckedCsv> {
  return { source, rows: await checkSubscriberCsv(source) };
}

export interface CsvImportOptions {
  /** Imported readers are confirmed (the operator vouches for consent); false: new ones get the opt-in email. */
  confirmed: boolean;
  /** Each bad row, in file order, as it is found. */
  onRowError?: (e: RowError) => void;
  /** After each batch is written: rows read so far (of CheckedCsv.rows). */
  onProgress?: (done: number) => void;
  /** Rows per batch (tests use a small one). */
  batchSize?: number;
}

export interface CsvImportResult {
  /** Rows written (or already as asked): created + updated. */
  imported: number;
  created: number;
  updated: number;
  /** Rows skipped, each reported to onRowError. */
  bad: number;
  batches: number;
}

/**
 * The second pass: imports the rows of a checked CSV. Stops at the first error that is not a
 * row's (Redis away): the batches before it are written, and importing the file again finishes
 * the job (re-importing updates, never duplicates).
 */
export async function importSubscriberCsv(
  rt: SubscriberDeps,
  csv: CheckedCsv,
  opts: CsvImportOptions,
): Promise<CsvImportResult> {
  const service = new SubscriberService(rt);
  // Topics and regions must be in the vocabulary, as everywhere: a row naming others is skipped.
  const taxonomy = await rt.taxonomy.current();
  const seen = redisSeen(rt);
  const result: CsvImportResult = { imported: 0, created: 0, updated: 0, bad: 0, batches: 0 };
  let done = 0;
  const write = async (batch: CsvBatch): Promise<void> => {
    const r = await service.upsertMany(
      batch.rows.map((x) => x.input),
      { confirmed: opts.confirmed },
    );
    result.imported += batch.rows.length;
    result.created += r.created;
    result.updated += r.updated;
    done += batch.read;
    opts.onProgress?.(done);
  };
  // The batch being written while the next is read and checked (at most one).
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const batch of subscriberCsvBatches(csv.source, seen, opts.batchSize ?? BATCH)) {
      const errors = [...batch.errors];
      batch.rows = batch.rows.filter((r) => {
        const issues = taxonomy.unknownIssues({ topics: r.input.topics ?? [], regions: r.input.regions ?? [] });
        if (issues.length) errors.push({ line: r.line, reason: formatIssues(issues) });
        return issues.length === 0;
      });
      await writing;
      for (const e of errors.sort((a, b) => a.line - b.line)) opts.onRowError?.(e);
      result.bad += errors.length;
      result.batches++;
      writing = write(batch);
      // Awaited before the next batch or at the end; until then a failure must not go unhandled.
      writing.catch(() => {});
    }
    await writing;
  } finally {
    // Nothing left running once this returns (the CLI closes Redis next).
    await writing.catch(() => {});
    await seen.forget();
  }
  return result;
}

const CLAIM = `
-- KEYS[1]: this import's hash address -> first line. ARGV[1]: its lifetime (ms), then address, line pairs.
local out = {}
for i = 2, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    out[#out + 1] = 0
  else
    out[#out + 1] = tonumber(redis.call('HGET', KEYS[1], ARGV[i]))
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return out
`;

/** How long an import's addresses outlive its last batch (an import that died: the hash goes by itself). */
const SEEN_TTL_MS = 3600_000;

/**
 * A FirstSeen in one Redis hash per import (`{p}:csv-import:{uuid}`, address -> line; about 80
 * bytes an address), erased at the end and kept an hour after the last batch at most.
 */
function redisSeen(rt: Pick<Runtime, "redis" | "key">): FirstSeen & { forget(): Promise<void> } {
  const key = rt.key("csv-import", randomUUID());
  return {
    async claim(rows) {
      if (rows.length === 0) return [];
      const args = rows.flatMap((r) => [r.key, String(r.line)]);
      const first = (await rt.redis.eval(CLAIM, 1, key, String(SEEN_TTL_MS), ...args)) as number[];
      return first.map((line) => (line === 0 ? null : line));
    },
    async forget() {
      // Redis away: the hash expires by itself.
      await rt.redis.del(key).catch(() => {});
    },
  };
}
