// Plain-text fields: no stored text may read as a tag, however many times it was encoded.
import { describe, expect, it } from "vitest";
import { htmlToText, oneLineText, sanitizeBody, stripTags } from "../../src/releases/sanitize.ts";

describe("stripTags", () => {
  it.each([
    ["Course <script>alert(1)</script>done", "Course done"],
    ["Course &lt;script&gt;alert(1)&lt;/script&gt;done", "Course done"],
    ["Course &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;done", "Course done"],
    ['x<img src=x onerror="alert(1)">y', "xy"],
    ["Fish &amp; Chips", "Fish & Chips"],
    ["AT&T < 5 > 3", "AT&T < 5 > 3"],
    ["“Quoted” — d’Ivoire", "“Quoted” — d’Ivoire"],
  ])("%j -> %j", (input, out) => {
    expect(stripTags(input)).toBe(out);
  });

  it("ten layers of encoding stay encoded rather than decode into a tag", () => {
    let s = "<script>alert(1)</script>";
    for (let i = 0; i < 12; i++) s = s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    expect(stripTags(s)).not.toMatch(/<script/i);
  });
});

describe("oneLineText and htmlToText", () => {
  it("collapses whitespace left by a removed tag", () => {
    expect(oneLineText("Border <script>x</script> Training")).toBe("Border Training");
  });

  it("text rendered from HTML holds no tag decoded from escaped text", () => {
    const html = sanitizeBody("<p>Trained &lt;script&gt;alert(1)&lt;/script&gt; officials, 3 &lt; 4</p>");
    expect(html).toContain("&lt;script&gt;");
    expect(htmlToText(html)).toMatch(/^Trained +officials, 3 < 4$/);
  });
});
