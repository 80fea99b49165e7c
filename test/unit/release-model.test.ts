import { describe, expect, it } from "vitest";
import { buildRelease, parseReleaseInput, slugify } from "../../src/releases/service.ts";
import { sanitizeBody } from "../../src/releases/sanitize.ts";
import { toNinjs } from "../../src/partners/ninjs.ts";
import type { Release } from "../../src/releases/model.ts";
import { validNinjs, validUri } from "../helpers/ninjs-schema.ts";
import { sampleRelease } from "../helpers/releases.ts";

const NOW = Date.parse("2026-11-28T10:00:00Z");

describe("release validation", () => {
  it("lists every problem", () => {
    try {
      parseReleaseInput({ title: "", body: "", publishedAt: "yesterday", language: "xx", url: "javascript:alert(1)" });
      expect.unreachable();
    } catch (err) {
      const paths = (err as { issues: { path: string }[] }).issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(["title", "body", "publishedAt", "language", "url"]));
    }
  });

  it.each([
    ["missing title", { body: "x" }, "title"],
    ["CR/LF in the title", { title: "Hello\r\nBcc: x@y.z", body: "x" }, "title"],
    ["invalid publishedAt", { title: "t", body: "x", publishedAt: "2026-13-01" }, "publishedAt"],
    ["unknown language", { title: "t", body: "x", language: "klingon" }, "language"],
    ["bad topic slug", { title: "t", body: "x", topics: ["Not A Slug!"] }, "topics.0"],
    ["bad contact email", { title: "t", body: "x", contacts: [{ name: "A", email: "nope" }] }, "contacts.0.email"],
  ])("refuses %s", (_what, input, path) => {
    expect(() => parseReleaseInput(input)).toThrow(new RegExp(path.replace(".", "\\.")));
  });
});

describe("sanitising", () => {
  it("keeps the allow-list and drops scripts, handlers and javascript: links", () => {
    const html = sanitizeBody(
      '<h2>Head</h2><p onclick="x()">A <a href="javascript:alert(1)">bad</a> <a href="https://iom.int/x">good</a></p><script>alert(1)</script><style>p{}</style><img src="https://x.org/a.png" alt="A" onerror="alert(1)"><blockquote>q</blockquote><ul><li>i</li></ul><iframe src="https://evil"></iframe>',
    );
    expect(html).toContain("<h2>Head</h2>");
    expect(html).toContain('<a href="https://iom.int/x">good</a>');
    expect(html).toContain('<img src="https://x.org/a.png" alt="A" />');
    expect(html).not.toMatch(/script|onclick|onerror|javascript:|style|iframe/i);
  });

  it("turns plain text paragraphs into escaped HTML", () => {
    expect(sanitizeBody("One & two\n\nThree")).toBe("<p>One &amp; two</p>\n<p>Three</p>");
  });
});

describe("buildRelease", () => {
  it("renders text, keeps the id and marks a future embargo", () => {
    const input = parseReleaseInput(sampleRelease({ embargoUntil: "2026-11-29T00:00:00Z" }));
    const r = buildRelease(input, "x", 1, NOW, null);
    expect(r.status).toBe("embargoed");
    expect(r.publishedAt).toBe("2026-11-29T00:00:00.000Z");
    expect(r.bodyText).toContain("IOM this week trained forty border officials.");
  });

  it("treats a future publishedAt as a scheduled publication", () => {
    const r = buildRelease(
      parseReleaseInput(sampleRelease({ publishedAt: "2026-12-01T00:00:00Z" })),
      "x",
      1,
      NOW,
      null,
    );
    expect(r.status).toBe("embargoed");
  });

  it("slugifies titles", () => {
    expect(slugify("Conference Focuses on Greater Protection of Trafficked Victims in Djibouti")).toBe(
      "conference-focuses-on-greater-protection-of-trafficked-victims-in-djibouti",
    );
    expect(slugify("Émigration à Genève")).toBe("emigration-a-geneve");
    expect(slugify("؟؟")).toMatch(/^release-[0-9a-f]{10}$/);
  });
});

describe("release URLs: http(s), and a valid URI once stored (ninjs `format: uri`)", () => {
  const refused = [
    "javascript:alert(1)",
    "ftp://example.org/x",
    "data:text/html,<script>alert(1)</script>",
    "https:example.org/no-slashes",
    "https:\\\\evil.example\\x",
    "https://exa mple.org/",
    "https://example.org/a\nb",
    "https://example.org/a b",
    "https://www.iom.int@evil.example/",
    "https://user:pass@example.org/",
    "https://example.org/%zz",
    "https://example.org/a|b",
    "https://example.org/a^b",
    "https://example.org/#one#two",
    "https://example.org/[x]",
    "https://.org/",
    "https://a..b/",
    "https://example.org:99999/",
    "https://",
    "//example.org/x",
    `https://example.org/${"x".repeat(2100)}`,
  ];
  it.each(refused)("%j is refused with the field's path", (url) => {
    for (const input of [{ url }, { image: { url, alt: "An image" } }]) {
      try {
        parseReleaseInput(sampleRelease(input));
        expect.unreachable(`accepted ${url}`);
      } catch (err) {
        expect((err as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
          input.url ? "url" : "image.url",
        ]);
      }
    }
  });

  const accepted: [string, string][] = [
    ["https://www.iom.int/news/border-training", "https://www.iom.int/news/border-training"],
    ["  https://example.org/a%20b\t", "https://example.org/a%20b"],
    ["HTTPS://WWW.IOM.INT/News", "https://www.iom.int/News"],
    ["https://example.org/caf\u00e9?q=\u00fc#fr\u00e4g", "https://example.org/caf%C3%A9?q=%C3%BC#fr%C3%A4g"],
    ["https://\u00e9xample.org/", "https://xn--xample-9ua.org/"],
    ['https://example.org/<b>"x"{y}`', "https://example.org/%3Cb%3E%22x%22%7By%7D%60"],
    ["http://[::1]:8080/x", "http://[::1]:8080/x"],
    ["https://example.org", "https://example.org/"],
  ];
  it.each(accepted)("%j is stored as %j, which ninjs accepts", (url, stored) => {
    const input = parseReleaseInput(sampleRelease({ url, image: { url, alt: "An image" } }));
    expect(input.url).toBe(stored);
    expect(input.image?.url).toBe(stored);
    expect(validUri(stored)).toBe(true);
    const r = buildRelease(input, "url-test", 1, NOW, null);
    const item = toNinjs({ ...r, revision: 1, status: "published" } as Release, "published", {
      publicUrl: "https://news.example.org",
      orgName: "IOM",
    });
    expect(validNinjs(item), JSON.stringify(validNinjs.errors)).toBe(true);
  });

  it("a release stored before URLs were checked still maps to a valid ninjs item (the bad URL left out)", () => {
    const r = buildRelease(parseReleaseInput(sampleRelease()), "url-test", 1, NOW, null);
    const item = toNinjs(
      {
        ...r,
        revision: 1,
        status: "published",
        url: "https://example.org/a b|c",
        image: { url: "https://example.org/%zz", alt: "x" },
      } as Release,
      "published",
      {
        publicUrl: "https://news.example.org",
        orgName: "IOM",
      },
    );
    expect(item.renditions).toBeUndefined();
    expect(item.associations).toBeUndefined();
    expect(validNinjs(item), JSON.stringify(validNinjs.errors)).toBe(true);
  });
});
