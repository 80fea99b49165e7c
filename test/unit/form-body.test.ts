import { describe, expect, it } from "vitest";
import { HeraldError } from "../../src/errors.ts";
import { parseForm, parseMultipart } from "../../src/http/form-body.ts";

const parse = (s: string | Buffer) => ({ ...parseForm(typeof s === "string" ? Buffer.from(s) : s) });

describe("parseForm", () => {
  it("decodes + and escapes, keeps repeated fields in order, and reads bare names as empty", () => {
    expect(parse("a=1+2%2B3&t=x&t=y&t=z&&flag&empty=")).toEqual({
      a: "1 2+3",
      t: ["x", "y", "z"],
      flag: "",
      empty: "",
    });
    expect(parse("")).toEqual({});
    expect(parse("na%C3%AFve=%F0%9F%93%B0")).toEqual({ naïve: "📰" });
  });

  it("keeps __proto__ and constructor as plain fields, never as the object's prototype", () => {
    const fields = parseForm(Buffer.from("__proto__=x&constructor=y"));
    expect(Object.getPrototypeOf(fields)).toBeNull();
    expect(Object.keys(fields)).toEqual(["__proto__", "constructor"]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ["raw bytes that are not UTF-8", Buffer.from([0x6e, 0x3d, 0xe9])],
    ["a Latin-1 escape", "name=Jos%E9"],
    ["a truncated UTF-8 escape", "name=%C3"],
    ["a broken escape", "name=100%zz"],
    ["a broken escape in a name", "na%me=x"],
  ])("refuses %s with a 400", (_what, body) => {
    let err: unknown;
    try {
      parse(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeraldError);
    expect((err as HeraldError).status).toBe(400);
    expect((err as HeraldError).message).toMatch(/not valid UTF-8/);
  });
});

describe("parseMultipart", () => {
  const body = (b: string, parts: string[]) =>
    Buffer.from(`${parts.map((p) => `--${b}\r\n${p}\r\n`).join("")}--${b}--\r\n`);
  const field = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;

  it("reads fields (quoted boundary, preamble, repeated names, UTF-8) and skips file parts", () => {
    const b = "----x y'z";
    const raw = Buffer.concat([
      Buffer.from("a preamble to ignore\r\n"),
      body(b, [
        field("List-Unsubscribe", "One-Click"),
        field("t", "a"),
        field("t", "b"),
        field("nom", "Zoë 📰"),
        'Content-Disposition: form-data; name="f"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\n\u00ff binary',
      ]),
    ]);
    const fields = parseMultipart(raw, `multipart/form-data; boundary="${b}"`);
    expect({ ...fields }).toEqual({ "List-Unsubscribe": "One-Click", t: ["a", "b"], nom: "Zoë 📰" });
    expect(Object.getPrototypeOf(fields)).toBeNull();
    expect({ ...parseMultipart(body("b1", [field("__proto__", "x")]), "multipart/form-data; boundary=b1") }).toEqual({
      ["__proto__"]: "x",
    });
  });

  it.each([
    ["no boundary parameter", body("b", [field("a", "1")]), "multipart/form-data", /boundary/],
    [
      "a body that does not start with the boundary",
      Buffer.from("garbage"),
      "multipart/form-data; boundary=b",
      /start with its boundary/,
    ],
    ["a body never closed", Buffer.from(`--b\r\n${field("a", "1")}`), "multipart/form-data; boundary=b", /not closed/],
    [
      "LF-only line ends",
      Buffer.from(`--b\n${field("a", "1").replaceAll("\r\n", "\n")}\n--b--\n`),
      "multipart/form-data; boundary=b",
      /CRLF|not closed/,
    ],
    [
      "a value that is not UTF-8",
      Buffer.concat([
        Buffer.from(`--b\r\nContent-Disposition: form-data; name="n"\r\n\r\nJos`),
        Buffer.from([0xe9]),
        Buffer.from("\r\n--b--\r\n"),
      ]),
      "multipart/form-data; boundary=b",
      /not valid UTF-8/,
    ],
  ])("refuses %s with a 400", (_what, raw, type, reason) => {
    let err: unknown;
    try {
      parseMultipart(raw, type);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeraldError);
    expect((err as HeraldError).status).toBe(400);
    expect((err as HeraldError).message).toMatch(reason);
  });
});
