import { describe, expect, it } from "vitest";
import { HeraldError } from "../../src/errors.ts";
import {
  checkSubscriberCsv,
  csvRows,
  firstInvalidUtf8,
  memorySource,
  readSubscriberCsv,
  Utf8Check,
} from "../../src/subscribers/csv.ts";

/** Every row, the text read in chunks of `size` bytes (1: every boundary falls somewhere). */
async function parseCsv(text: string | Uint8Array, size = 64 * 1024) {
  const rows = [];
  for await (const r of csvRows(memorySource(text, size))) rows.push(r);
  return rows;
}

describe("CSV import parsing", () => {
  it.each([1, 2, 3, 7, 64 * 1024])(
    "handles quotes, embedded commas, line breaks and CRLF, with line numbers (read %i bytes at a time)",
    async (size) => {
      const rows = await parseCsv('\uFEFFa,b\r\n"x, y","say ""hi""\nagain"\r\n\r\nlast,row\n', size);
      expect(rows).toEqual([
        { line: 1, cells: ["a", "b"] },
        { line: 2, cells: ["x, y", 'say "hi"\nagain'] },
        { line: 5, cells: ["last", "row"] },
      ]);
    },
  );

  it.each([1, 5, 64 * 1024])(
    "reads mixed line ends (CRLF, LF, lone CR) row by row, and counts a CRLF inside a quoted cell as one line (%i bytes at a time)",
    async (size) => {
      expect(await parseCsv('a,b\r\nc,"d\r\ne"\nf,g\rh,<i title="x">\n', size)).toEqual([
        { line: 1, cells: ["a", "b"] },
        { line: 2, cells: ["c", "d\r\ne"] },
        { line: 4, cells: ["f", "g"] },
        // A quote inside an unquoted cell is a letter of that cell.
        { line: 5, cells: ["h", '<i title="x">'] },
      ]);
    },
  );

  it.each([1, 2, 64 * 1024])(
    "refuses a file whose quoted cell never closes, naming the line it opens on, nothing read (%i bytes at a time)",
    async (size) => {
      const csv =
        'email,name\r\nok@example.org,"Ok ""the"" reader"\r\nbad@example.org,"Ana\r\nmore@example.org,More\r\n';
      await expect(parseCsv(csv, size)).rejects.toThrow(
        /quote that never closes: the cell opened on line 3 .*nothing was imported/,
      );
      await expect(checkSubscriberCsv(memorySource(csv, size))).rejects.toThrow(/opened on line 3/);
      await expect(readSubscriberCsv(csv)).rejects.toThrow(HeraldError);
    },
  );

  it("reports each bad row with its line and reason and keeps the good ones", async () => {
    const csv = [
      "email,name,language,frequency,topics,regions,timezone",
      "ana@Example.org,Ana,es,daily,health;migration-data,,America/Lima",
      "nope,X,en,daily,,,UTC",
      "bo@example.org,Bo,de,weekly,,,UTC",
      "cy@example.org,,,,,,",
      "ANA@example.org,dup,,,,,",
    ].join("\n");
    const { rows, errors } = await readSubscriberCsv(csv);
    expect(rows.map((r) => [r.line, r.input.email, r.input.topics])).toEqual([
      [2, "ana@example.org", ["health", "migration-data"]],
      // Empty cells are left out: an import changes only the fields a row names.
      [5, "cy@example.org", undefined],
    ]);
    // ANA@ and ana@ are one mailbox (issue 11): the second spelling is a duplicate.
    expect(errors).toEqual([
      { line: 3, reason: expect.stringMatching(/^email: /) },
      { line: 4, reason: expect.stringMatching(/^language: one of en, fr, es/) },
      { line: 6, reason: "ANA@example.org already appears on line 2" },
    ]);
  });

  it("refuses a header it does not know, saying what is expected; an empty file too", async () => {
    const expected = /expected columns from email,name,language,frequency,topics,regions,timezone/;
    await expect(readSubscriberCsv("mail,nom\nx,y")).rejects.toThrow(expected);
    await expect(checkSubscriberCsv(memorySource("mail,nom\nx,y"))).rejects.toThrow(expected);
    await expect(checkSubscriberCsv(memorySource("\n\n"))).rejects.toThrow(/the CSV is empty/);
  });

  it("counts the data rows in its check (header and blank lines not counted)", async () => {
    expect(await checkSubscriberCsv(memorySource('email,name\n\na@example.org,"A\nB"\n,\nb@example.org,B'))).toBe(2);
  });
});

describe("CSV encoding: UTF-8 or refused whole", () => {
  const bytes = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));
  /** The check's refusal, the file read `size` bytes at a time. */
  const refusal = async (b: Uint8Array, size = 64 * 1024) => {
    try {
      await checkSubscriberCsv(memorySource(b, size));
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error("not refused");
  };

  it.each([1, 2, 64 * 1024])("reads UTF-8 (with or without a BOM) as it is (%i bytes at a time)", async (size) => {
    const plain = bytes("email,name\nana@example.org,Ana María\n");
    expect(await checkSubscriberCsv(memorySource(plain, size))).toBe(1);
    expect((await readSubscriberCsv(plain)).rows[0]!.input.name).toBe("Ana María");
    const bom = bytes([0xef, 0xbb, 0xbf], "email,name\nana@example.org,José 😀\n");
    expect(await checkSubscriberCsv(memorySource(bom, size))).toBe(1);
    expect((await readSubscriberCsv(bom)).rows[0]!.input.name).toBe("José 😀");
  });

  it.each([
    ["a Latin-1 é on line 3", bytes("email,name\nok@example.org,Ok\nj@example.org,Jos", [0xe9], "\n"), 3, 18],
    ["Windows-1252 quotes on line 2, CRLF", bytes("email,name\r\nq@example.org,", [0x93], "Q", [0x94], "\r\n"), 2, 15],
    [
      "a lone CR as the line break (old Mac)",
      bytes("email,name\rok@example.org,Ok\rx@example.org,", [0xff], "\r"),
      3,
      15,
    ],
    ["an overlong slash", bytes("email\n", [0xc0, 0xaf], "@example.org\n"), 2, 1],
    ["a UTF-16 surrogate encoded as UTF-8", bytes("email,name\ns@example.org,", [0xed, 0xa0, 0x80], "\n"), 2, 15],
    ["a code point above U+10FFFF", bytes("email,name\nb@example.org,", [0xf4, 0x90, 0x80, 0x80], "\n"), 2, 15],
    ["a sequence cut off at the end of the file", bytes("email,name\nc@example.org,", [0xe2, 0x82]), 2, 15],
    [
      "a bad byte inside a quoted cell with a line break",
      bytes('email,name\nd@example.org,"two\nlines ', [0xe9], '"\n'),
      3,
      7,
    ],
  ])("%s: refused with the line and byte, nothing read", async (_n, b, line, col) => {
    for (const size of [1, 2, 3, 64 * 1024]) {
      const message = await refusal(b, size);
      expect(message).toBe(await refusal(b));
    }
    const message = await refusal(b);
    expect(message).toContain(`not valid UTF-8: line ${line}, byte ${col} `);
    expect(message).toMatch(/nothing was imported/);
    expect(message).not.toContain("\uFFFD");
    expect(message).not.toContain("\n");
  });

  it("says UTF-16 when the file is UTF-16", async () => {
    expect(await refusal(Buffer.from("\uFEFFemail\r\nu@example.org\r\n", "utf16le"))).toMatch(/UTF-16/);
    expect(await refusal(Buffer.from("\uFEFFemail\r\nu@example.org\r\n", "utf16le"), 1)).toMatch(/UTF-16/);
  });

  it("finds the first bad byte exactly where a strict decoder fails, whole or in chunks (10,000 random buffers)", () => {
    const strict = new TextDecoder("utf-8", { fatal: true });
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const interesting = [
      0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f,
      0x90,
    ];
    for (let n = 0; n < 10_000; n++) {
      const b = Uint8Array.from({ length: 1 + (rnd() % 12) }, () => interesting[rnd() % interesting.length]!);
      const at = firstInvalidUtf8(b);
      let valid = true;
      try {
        strict.decode(b);
      } catch {
        valid = false;
      }
      expect(at === b.length, Buffer.from(b).toString("hex")).toBe(valid);
      // Read as a stream, cut anywhere, the first bad byte is the same.
      const check = new Utf8Check();
      let streamed = -1;
      for (let i = 0; i < b.length && streamed < 0; ) {
        const step = 1 + (rnd() % 4);
        streamed = check.push(b.subarray(i, i + step));
        i += step;
      }
      if (streamed < 0) streamed = check.end();
      expect(streamed, Buffer.from(b).toString("hex")).toBe(valid ? -1 : at);
      if (!valid) {
        // Everything before the bad byte decodes; the bad byte with the rest does not.
        expect(() => strict.decode(b.subarray(0, at))).not.toThrow();
        expect(() => strict.decode(b.subarray(at))).toThrow();
      }
    }
  });
});
