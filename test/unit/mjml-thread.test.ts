// MJML renders on a worker thread that stops when idle (src/templates/mjml-thread.ts): the HTML is
// what mjml gives in place, byte for byte; a burst of renders shares one thread; a stopped or idle
// thread is started again by the next render; a document MJML refuses fails alone; a thread that
// dies mid-render fails what it had in hand, and the next render starts another.
import mjml2html from "mjml";
import { describe, expect, it } from "vitest";
import { IDLE_MS, mjmlThread } from "../../src/templates/mjml-thread.ts";
import { renderMjml } from "../../src/templates/render.ts";

const doc = (text: string) =>
  `<mjml><mj-head><mj-title>${text}</mj-title></mj-head><mj-body><mj-section><mj-column>` +
  `<mj-text>${text}</mj-text><mj-button href="https://example.org/?a=1&amp;b=2">Read</mj-button>` +
  `</mj-column></mj-section></mj-body></mjml>`;
const OPTIONS = { validationLevel: "soft", keepComments: false } as const;

describe("MJML thread", () => {
  it("renders what mjml renders in place, byte for byte (text beyond Latin-1 included)", async () => {
    for (const text of ["Hello", "Café — ünïcödé 👋 &amp; &lt;b&gt;", "مرحبا"]) {
      const onThread = await renderMjml(doc(text));
      expect(onThread).toBe((await mjml2html(doc(text), OPTIONS)).html);
      expect(onThread).toContain("<!doctype html>");
    }
  });

  it("a burst of renders shares one thread; once stopped, the next render starts another", async () => {
    await mjmlThread.stop();
    const started = mjmlThread.started;
    const out = await Promise.all(Array.from({ length: 8 }, (_, i) => renderMjml(doc(`burst ${i}`))));
    for (const [i, html] of out.entries()) expect(html).toContain(`burst ${i}`);
    expect(mjmlThread.started - started).toBe(1);
    await mjmlThread.stop();
    expect(await renderMjml(doc("again"))).toContain("again");
    expect(mjmlThread.started - started).toBe(2);
  });

  it("stops by itself IDLE_MS after its last render", async () => {
    await renderMjml(doc("idle"));
    const started = mjmlThread.started;
    await new Promise((r) => setTimeout(r, IDLE_MS + 500));
    expect(await renderMjml(doc("after idle"))).toContain("after idle");
    expect(mjmlThread.started - started).toBe(1);
  });

  it("a document MJML refuses fails with its reason, and the others still render", async () => {
    const bad = renderMjml("<p>not mjml</p>");
    const good = renderMjml(doc("fine"));
    await expect(bad).rejects.toThrow(/^MJML: Malformed MJML/);
    expect(await good).toContain("fine");
    expect(await renderMjml(doc("still fine"))).toContain("still fine");
  });

  it("a thread that dies mid-render fails what it had in hand; the next render starts another", async () => {
    await mjmlThread.stop();
    const started = mjmlThread.started;
    const pending = renderMjml(doc("killed"));
    // The renderer's own thread (the only one it holds), stopped while the render is in flight.
    const worker = (mjmlThread as unknown as { worker: import("node:worker_threads").Worker }).worker;
    await worker.terminate();
    await expect(pending).rejects.toThrow(/^the MJML renderer stopped \(exit code \d+\)$/);
    expect(await renderMjml(doc("revived"))).toContain("revived");
    expect(mjmlThread.started - started).toBe(2);
  });
});
