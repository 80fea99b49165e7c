import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { type CsvSource, memorySource, type RowError } from "../../src/subscribers/csv.ts";
import { checkCsv, fileSource, importSubscriberCsv } from "../../src/subscribers/csv-import.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime;
beforeEach(async () => {
  rt = await testRuntime({ label: "import" });
});
afterEach(() => rt.destroy());

const HEADER = "email,name,language,frequency,topics,regions,timezone";
const csv = (tz: string) =>
  `${HEADER}\nana@example.org,Ana,es,daily,health,,${tz}\nbo@example.org,Bo,fr,weekly,,chad,UTC\n`;

const importText = async (text: string | Buffer, confirmed = true) =>
  importSubscriberCsv(rt, await checkCsv(memorySource(text)), { confirmed });

describe("CSV import", () => {
  it("is idempotent: re-import updates and never duplicates, and keeps unsubscribes", async () => {
    const svc = new SubscriberService(rt);
    expect(await importText(csv("America/Lima"))).toMatchObject({ imported: 2, created: 2, updated: 0, bad: 0 });
    const bo = (await svc.store.byEmail("bo@example.org"))!;
    await svc.unsubscribe(bo.id);
    expect(await importText(csv("Asia/Tokyo"))).toMatchObject({ imported: 2, created: 0, updated: 2, bad: 0 });
    expect(await svc.store.count()).toBe(2);
    expect(await svc.store.byEmail("ana@example.org")).toMatchObject({ status: "confirmed", timezone: "Asia/Tokyo" });
    expect((await svc.store.byEmail("bo@example.org"))?.status).toBe("unsubscribed");
    // The digest index follows the time zone move.
    expect(await rt.redis.smembers(rt.key("subs", "daily", "tz", "America/Lima"))).toEqual([]);
    expect(await rt.redis.smembers(rt.key("subs", "daily", "tz", "Asia/Tokyo"))).toHaveLength(1);
    expect(await rt.redis.smembers(rt.key("subs", "weekly"))).toEqual([]);
  });

  it("imports from a file only the bytes it checked, even when more are appended between the reads", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "herald-csv-"));
    try {
      const file = path.join(dir, "readers.csv");
      writeFileSync(file, csv("UTC"));
      const checked = await checkCsv(fileSource(file));
      // An export still being written: a row that is not UTF-8 and one more reader arrive late.
      appendFileSync(file, Buffer.concat([Buffer.from("late@example.org,L\xe9a,fr,,,,\n", "latin1")]));
      appendFileSync(file, "later@example.org,Lou,en,,,,\n");
      expect(await importSubscriberCsv(rt, checked, { confirmed: true })).toMatchObject({ imported: 2, bad: 0 });
      const svc = new SubscriberService(rt);
      expect(await svc.store.count()).toBe(2);
      expect(await svc.store.byEmail("later@example.org")).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--pending sends a confirmation to new addresses instead", async () => {
    const svc = new SubscriberService(rt);
    await importText(csv("UTC"), false);
    expect((await svc.store.byEmail("ana@example.org"))?.status).toBe("pending");
    expect(await rt.queues[QUEUE.emails].count()).toBe(2);
  });
});

describe("CSV import streams", { timeout: 120_000 }, () => {
  const N = 10_000;
  const BATCH = 500;
  const row = (i: number) => `reader${i}@example.org,Reader ${i},${["en", "fr", "es"][i % 3]},weekly,,,UTC`;

  /**
   * The generated file as a source that makes each row on demand, one chunk per row, and counts
   * the rows the importer has pulled from the read in progress (each read starts from zero).
   */
  function generated(lines: (i: number) => string): { source: CsvSource; pulled: () => number } {
    let pulled = 0;
    const source: CsvSource = async function* () {
      pulled = 0;
      yield Buffer.from(`${HEADER}\n`);
      for (let i = 0; i < N; i++) {
        pulled++;
        yield Buffer.from(`${lines(i)}\n`);
      }
    };
    return { source, pulled: () => pulled };
  }

  it("imports a many-row file in batches, never reading more than two batches (and the parser's read-ahead) ahead of what is written", async () => {
    // A duplicate in a later batch than its first spelling, and a bad row in the last batch.
    const lines = (i: number) =>
      i === 7_000 ? "READER3@example.org,Again,,,,," : i === N - 2 ? "bad-address,X,,,,," : row(i);
    const { source, pulled } = generated(lines);
    const csv = await checkCsv(source);
    expect(csv.rows).toBe(N);
    const leads: number[] = [];
    const steps: number[] = [];
    let last = 0;
    const errors: RowError[] = [];
    const r = await importSubscriberCsv(rt, csv, {
      confirmed: true,
      batchSize: BATCH,
      onRowError: (e) => errors.push(e),
      onProgress: (done) => {
        steps.push(done - last);
        last = done;
        leads.push(pulled() - done);
      },
    });
    expect(r).toEqual({ imported: N - 2, created: N - 2, updated: 0, bad: 2, batches: N / BATCH });
    expect(steps).toEqual(Array.from({ length: N / BATCH }, () => BATCH));
    // Held at most: the batch being written, the one being read, and what the parser reads ahead
    // (16 KiB of input and 16 rows; rows here are ~45 bytes, so under 400 rows). A reader that
    // took the whole file first would be N rows ahead at the first batch.
    expect(Math.max(...leads)).toBeLessThan(2 * BATCH + 400);
    expect(leads[0]).toBeLessThan(N / 4);
    // Line numbers: the header is line 1, row i is line i + 2.
    expect(errors).toEqual([
      { line: 7_002, reason: "READER3@example.org already appears on line 5" },
      { line: N, reason: expect.stringMatching(/^email: /) },
    ]);
    const svc = new SubscriberService(rt);
    expect(await svc.store.count()).toBe(N - 2);
    expect(await svc.store.byEmail("reader9999@example.org")).toMatchObject({
      name: "Reader 9999",
      status: "confirmed",
    });
    expect(await svc.store.byEmail("reader3@example.org")).toMatchObject({ name: "Reader 3" });
    // The addresses it remembered for duplicates are gone with the import.
    expect(await rt.redis.keys(rt.key("csv-import", "*"))).toEqual([]);
  });

  it.each([
    [
      "a byte that is not UTF-8",
      Buffer.from([0x4a, 0x6f, 0x73, 0xe9]),
      /not valid UTF-8: line 10001, byte 21 \(e9 0a\)/,
    ],
    ["a quote that never closes", Buffer.from('"Jos'), /quote that never closes: the cell opened on line 10001/],
  ])("a file refused whole for %s in its last row stores none of the rows before it", async (_n, tail, refusal) => {
    const raw = Buffer.concat([
      Buffer.from(`${[HEADER, ...Array.from({ length: N - 1 }, (_, i) => row(i))].join("\n")}\nlate@example.org,`),
      tail,
      Buffer.from("\n"),
    ]);
    // What the CLI runs: the check, then the import.
    await expect(importText(raw)).rejects.toThrow(refusal);
    expect(await new SubscriberService(rt).store.count()).toBe(0);
  });
});
