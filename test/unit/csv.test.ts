import { describe, expect, it } from "vitest";
import { HeraldError } from "../../src/errors.ts";
import { decodeCsv, firstInvalidUtf8, parseCsv, readSubscriberCsv } from "../../src/subscribers/csv.ts";

describe("CSV import parsing", () => {
  it("handles quotes, embedded commas, line breaks and CRLF, with line numbers", () => {
    const rows = parseCsv('a,b\r\n"x, y","say ""hi""\nagain"\r\n\r\nlast,row\n');
    expect(rows).toEqual([
      { line: 1, cells: ["a", "b"] },
      { line: 2, cells: ["x, y", 'say "hi"\nagain'] },
      { line: 5, cells: ["last", "row"] },
    ]);
  });

  it("reads mixed line ends (CRLF, LF, lone CR) row by row, and counts a CRLF inside a quoted cell as one line", () => {
    expect(parseCsv('a,b\r\nc,"d\r\ne"\nf,g\rh,<i title="x">\n')).toEqual([
      { line: 1, cells: ["a", "b"] },
      { line: 2, cells: ["c", "d\r\ne"] },
      { line: 4, cells: ["f", "g"] },
      // A quote inside an unquoted cell is a letter of that cell.
      { line: 5, cells: ["h", '<i title="x">'] },
    ]);
  });

  it("refuses a file whose quoted cell never closes, naming the line it opens on, nothing read", () => {
    const csv = 'email,name\nok@example.org,Ok\nbad@example.org,"Ana\nmore@example.org,More\n';
    expect(() => parseCsv(csv)).toThrow(/quote that never closes: the cell opened on line 3 .*nothing was imported/);
    expect(() => readSubscriberCsv(csv)).toThrow(HeraldError);
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
    ]);
    // ANA@ and ana@ are one mailbox (issue 11): the second spelling is a duplicate.
    expect(errors).toEqual([
      { line: 3, reason: expect.stringMatching(/^email: /) },
      { line: 4, reason: expect.stringMatching(/^language: one of en, fr, es/) },
      { line: 6, reason: "ANA@example.org already appears on line 2" },
    ]);
  });

  it("refuses a header it does not know, saying what is expected", () => {
    expect(() => readSubscriberCsv("mail,nom\nx,y")).toThrow(
      /expected columns from email,name,language,frequency,topics,regions,timezone/,
    );
  });
});

describe("CSV encoding: UTF-8 or refused whole", () => {
  const bytes = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));
  const refusal = (b: Uint8Array) => {
    try {
      decodeCsv(b);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error("not refused");
  };

  it("reads UTF-8 (with or without a BOM) as it is", () => {
    expect(decodeCsv(bytes("email,name\nana@example.org,Ana María\n"))).toBe("email,name\nana@example.org,Ana María\n");
    expect(
      readSubscriberCsv(decodeCsv(bytes([0xef, 0xbb, 0xbf], "email,name\nana@example.org,José\n"))).rows[0]!.input.name,
    ).toBe("José");
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
  ])("%s: refused with the line and byte, nothing read", (_n, b, line, col) => {
    const message = refusal(b);
    expect(message).toContain(`not valid UTF-8: line ${line}, byte ${col} `);
    expect(message).toMatch(/nothing was imported/);
    expect(message).not.toContain("\uFFFD");
    expect(message).not.toContain("\n");
  });

  it("says UTF-16 when the file is UTF-16", () => {
    expect(refusal(Buffer.from("\uFEFFemail\r\nu@example.org\r\n", "utf16le"))).toMatch(/UTF-16/);
  });

  it("finds the first bad byte exactly where a strict decoder fails (10,000 random buffers)", () => {
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
      if (!valid) {
        // Everything before the bad byte decodes; the bad byte with the rest does not.
        expect(() => strict.decode(b.subarray(0, at))).not.toThrow();
        expect(() => strict.decode(b.subarray(at))).toThrow();
      }
    }
  });
});
