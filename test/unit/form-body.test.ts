import { describe, expect, it } from "vitest";
import { HeraldError } from "../../src/errors.ts";
import { parseForm } from "../../src/http/form-body.ts";

const parse = (s: string | Buffer) => ({ ...parseForm(typeof s === "string" ? Buffer.from(s) : s) });

describe("parseForm", () => {
  it("decodes + and escapes, keeps repeated fields in order, and reads bare names as empty", () => {
    expect(parse("a=1+2%2B3&t=x&t=y&t=z&&flag&empty=")).toEqual({ a: "1 2+3", t: ["x", "y", "z"], flag: "", empty: "" });
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
