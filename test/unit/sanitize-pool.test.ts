import { describe, expect, it } from "vitest";
import { INLINE_MAX_CHARS, renderBodyOffThread } from "../../src/releases/sanitize-pool.ts";
import { MAX_BODY_DEPTH, nestingDepth, rawNestingDepth, renderBody } from "../../src/releases/sanitize.ts";

describe("release bodies rendered on worker threads", () => {
  const big = (i: number) =>
    `<p>Release ${i}: <script>alert(1)</script><a href="javascript:x">link</a> <b>bold</b> &amp; text.</p>\n`.repeat(
      Math.ceil((INLINE_MAX_CHARS * 3) / 90),
    );

  it("give what rendering in place gives, for several bodies at once", async () => {
    const bodies = [1, 2, 3, 4, 5].map(big);
    const results = await Promise.all(bodies.map(renderBodyOffThread));
    results.forEach((r, i) => {
      expect(r).toEqual(renderBody(bodies[i]!));
      expect(r.html).not.toMatch(/script|javascript:/);
      expect(r.text).toContain(`Release ${i + 1}: link bold & text.`);
    });
  });

  it("refuse a body nested too deep with a 400 that says why, in place and on a worker", async () => {
    const deep = (extra: string) =>
      `${"<blockquote>".repeat(MAX_BODY_DEPTH + 1)}x${"</blockquote>".repeat(MAX_BODY_DEPTH + 1)}${extra}`;
    expect(() => renderBody(deep(""))).toThrow(/nested more than 100 deep/);
    await expect(renderBodyOffThread(deep("<p>y</p>".repeat(INLINE_MAX_CHARS)))).rejects.toMatchObject({
      status: 400,
      issues: [{ path: "body" }],
    });
    // 100 deep is fine.
    expect(renderBody(`${"<ul><li>".repeat(50)}x${"</li></ul>".repeat(50)}`).text).toContain("x");
  });

  it("refuse 300,000 unclosed tags before sanitize-html sees them (its cost grows with the square of the depth)", async () => {
    const started = performance.now();
    await expect(renderBodyOffThread("<b>".repeat(300_000))).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/nested more than 500 deep/),
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    // Sloppy but ordinary HTML is not deep: </p> closes what it holds, a new <p> or <li> the last one.
    expect(rawNestingDepth("<p><b>x</p>".repeat(1000))).toBe(2);
    expect(rawNestingDepth(`<ul>${"<li>a".repeat(1000)}</ul>`)).toBe(2);
    expect(rawNestingDepth("<b>".repeat(10) + "</i>".repeat(10))).toBe(10);
  });

  it("nestingDepth counts open elements, not void ones", () => {
    expect(nestingDepth('<p>a<br>b<img src="https://e.org/a.png"></p><p><strong><em>x</em></strong></p>')).toBe(3);
  });
});
