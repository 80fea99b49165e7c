// ALERT_TRANSLATION_WAIT: readers whose language is not the original's wait that long for their
// translation; published within the wait, they get it; otherwise they get the original. Readers of
// the original's language are never held back. Real workers, real SMTP server, a short wait.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ReleaseService } from "../../src/releases/service.ts";
import { renderMjml } from "../../src/templates/render.ts";
import { addReader, type MailEnv, mailEnv } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually } from "../helpers/runtime.ts";

const WAIT_MS = 2500;

let env: MailEnv;
// MJML loads on the first render (a second or more): not part of what the timings measure.
beforeAll(() => renderMjml("<mjml><mj-body></mj-body></mjml>"));
afterEach(() => env?.stop());

async function setup() {
  env = await mailEnv({ label: "twait", config: { alertTranslationWaitMs: WAIT_MS } });
  const { rt } = env;
  await addReader(rt, { email: "en@example.org", frequency: "immediate", language: "en" });
  await addReader(rt, { email: "fr@example.org", frequency: "immediate", language: "fr" });
  await addReader(rt, { email: "es@example.org", frequency: "immediate", language: "es" });
  env.start();
  return { rt, smtp: env.smtp, svc: new ReleaseService(rt) };
}

const subjects = (address: string) => env.smtp.to(address).map((m) => m.parsed.subject);

describe("translations wait (ALERT_TRANSLATION_WAIT)", () => {
  it("a French translation published within the wait reaches French readers; others get the original after the wait", async () => {
    const { svc } = await setup();
    const t0 = Date.now();
    await svc.publish(sampleRelease({ id: "tw", title: "Officials Trained" }));
    await eventually(() => subjects("en@example.org").length === 1, 10_000, "the English alert");
    expect(Date.now() - t0).toBeLessThan(WAIT_MS); // readers of the original's language do not wait
    expect(subjects("fr@example.org")).toEqual([]);
    expect(subjects("es@example.org")).toEqual([]);

    // The translation comes some time into the wait, not at once: time passing is what is tested.
    await new Promise((r) => setTimeout(r, 300));
    await svc.publish(sampleRelease({ id: "tw-fr", title: "Agents formés", language: "fr", translationOf: "tw" }));
    await eventually(() => subjects("fr@example.org").length === 1, 10_000, "the French alert");
    expect(subjects("fr@example.org")).toEqual(["Agents formés"]);
    expect(subjects("es@example.org")).toEqual([]); // still waiting: no Spanish version yet

    await eventually(
      () => subjects("es@example.org").length === 1,
      10_000,
      "the original, for Spanish readers, after the wait",
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(WAIT_MS);
    expect(subjects("es@example.org")).toEqual(["Officials Trained"]);
    await env.drained();
    // One alert per reader and story.
    expect([subjects("en@example.org"), subjects("fr@example.org"), subjects("es@example.org")]).toEqual([
      ["Officials Trained"],
      ["Agents formés"],
      ["Officials Trained"],
    ]);
  });

  it("a translation published after the wait is too late: its readers already got the original, and get nothing more", async () => {
    const { svc } = await setup();
    await svc.publish(sampleRelease({ id: "late", title: "Figures Released" }));
    await eventually(
      () => subjects("fr@example.org").length === 1,
      10_000,
      "the original for French readers after the wait",
    );
    expect(subjects("fr@example.org")).toEqual(["Figures Released"]);
    await svc.publish(
      sampleRelease({ id: "late-fr", title: "Chiffres publiés", language: "fr", translationOf: "late" }),
    );
    await env.drained();
    expect(subjects("fr@example.org")).toEqual(["Figures Released"]);
    expect(subjects("en@example.org")).toEqual(["Figures Released"]);
  });

  it("a correction made during the wait: waiting readers get the corrected text, and no notice", async () => {
    const { svc } = await setup();
    await svc.publish(sampleRelease({ id: "fixed", title: "Figures Out" }));
    await eventually(() => subjects("en@example.org").length === 1, 10_000, "the English alert");
    await svc.update("fixed", sampleRelease({ title: "Figures Out (corrected)" }), "Corrected a figure");
    await eventually(() => subjects("en@example.org").length === 2, 10_000, "the English reader's notice");
    await eventually(() => subjects("es@example.org").length === 1, 10_000, "the late alert");
    await env.drained();
    expect(subjects("en@example.org")).toEqual(["Figures Out", "Correction: Figures Out (corrected)"]);
    expect(subjects("es@example.org")).toEqual(["Figures Out (corrected)"]);
    expect(subjects("fr@example.org")).toEqual(["Figures Out (corrected)"]);
  });

  it("a translation published while its original is under embargo reaches its readers at once", async () => {
    const { svc } = await setup();
    // The translation first (its original not yet public: nobody but French readers could want it).
    await svc.publish(
      sampleRelease({
        id: "pre",
        title: "Original",
        publishedAt: "2026-11-28T09:00:00Z",
        embargoUntil: "2026-11-28T11:00:00Z",
      }),
    );
    await svc.publish(sampleRelease({ id: "pre-fr", title: "Traduction", language: "fr", translationOf: "pre" }));
    await eventually(() => subjects("fr@example.org").length === 1, 10_000, "the French alert");
    expect(subjects("fr@example.org")).toEqual(["Traduction"]);
    expect(subjects("en@example.org")).toEqual([]);
  });
});
