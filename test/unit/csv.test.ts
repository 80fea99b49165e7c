import { describe, expect, it } from "vitest";
import { parseCsv, readSubscriberCsv } from "../../src/subscribers/csv.ts";

describe("CSV import parsing", () => {
  it("handles quotes, embedded commas, line breaks and CRLF, with line numbers", () => {
    const rows = parseCsv('a,b\r\n"x, y","say ""hi""\nagain"\r\n\r\nlast,row\n');
    expect(rows).toEqual([
      { line: 1, cells: ["a", "b"] },
      { line: 2, cells: ["x, y", 'say "hi"\nagain'] },
      { line: 5, cells: ["last", "row"] },
    ]);
  });

  it("reports each bad row with its line and reason and keeps the good ones", () => {
    const csv = [
      "email,name,language,frequency,topics,regions,timezone",
      "ana@Example.org,Ana,es,daily,health;migration-data,,America/Lima",
      "nope,X,en,daily,,,UTC",
      "bo@example.org,Bo,de,weekly,,,UTC",
      "cy@example.org,,,,,,",
      "ANA@example.org,dup,,,,,",
    ].join("\n");
    const { rows, errors } = readSubscriberCsv(csv);
    expect(rows.map((r) => [r.line, r.input.email, r.input.topics])).toEqual([
      [2, "ana@example.org", ["health", "migration-data"]],
      // Empty cells are left out: an import changes only the fields a row names.
      [5, "cy@example.org", undefined],
      [6, "ANA@example.org", undefined],
    ]);
    expect(errors).toEqual([
      { line: 3, reason: expect.stringMatching(/^email: /) },
      { line: 4, reason: expect.stringMatching(/^language: one of en, fr, es/) },
    ]);
  });

  it("refuses a header it does not know, saying what is expected", () => {
    expect(() => readSubscriberCsv("mail,nom\nx,y")).toThrow(/expected columns from email,name,language,frequency,topics,regions,timezone/);
  });
});
