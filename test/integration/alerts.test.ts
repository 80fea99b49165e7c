import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAlert } from "../../src/mail/alerts.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { sendBatch } from "../../src/mail/send-emails.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { addReader, type MailEnv, mailEnv } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually } from "../helpers/runtime.ts";
import type { EmailBatchJob } from "../../src/jobs/queues.ts";

let env: MailEnv;
beforeEach(async () => {
  env = await mailEnv({ label: "alerts" });
});
afterEach(() => env.stop());

const batches = async () =>
  (await env.rt.queues[QUEUE.emails].getJobs(["waiting", "delayed", "prioritized"])).map(
    (j) => j.data as EmailBatchJob,
  );

describe("immediate alerts", () => {
  it("sends one multipart alert with list headers to matching readers only", async () => {
    const { rt, smtp } = env;
    await addReader(rt, {
      email: "ana@Example.ORG",
      name: 'Ana "Q" <x>'.replace(/[<>]/g, ""),
      frequency: "immediate",
      topics: ["counter-trafficking"],
    });
    await addReader(rt, { email: "bo@example.org", frequency: "immediate", topics: ["health"] });
    await addReader(rt, { email: "cy@example.org", frequency: "daily" });
    await addReader(rt, { email: "di@example.org", frequency: "immediate" }, false); // pending
    env.start();
    await new ReleaseService(rt).publish(
      sampleRelease({ id: "border", title: "Border Officials Trained", url: "https://iom.example/border" }),
    );
    await eventually(() => smtp.to("ana@example.org").length >= 1, 10_000, "the alert");
    await env.drained();
    const alerts = smtp.messages.filter((x) => x.parsed.messageId?.startsWith("<alert-"));
    expect(alerts.flatMap((x) => x.to)).toEqual(["ana@example.org"]);
    // The pending reader only got their confirmation request.
    expect(smtp.to("di@example.org").map((x) => x.parsed.subject)).toEqual([
      "Confirm your subscription to International Organization for Migration news",
    ]);
    const m = alerts[0]!.parsed;
    expect(m.subject).toBe("Border Officials Trained");
    expect(m.messageId).toMatch(/^<alert-border-r1\.s[0-9a-f]+@iom\.example>$/);
    expect(m.html).toContain("Border Officials Trained");
    expect(m.html).toContain("Hello Ana &quot;Q&quot; x,");
    expect(m.text).toContain('Hello Ana "Q" x,');
    expect(m.text).toContain("IOM this week trained forty border officials.");
    expect(m.text).toContain("Djibouti — November 20, 2026");
    expect(m.text).not.toMatch(/<p>|HX[0-9a-f]{12}X/);
    expect(m.html).not.toMatch(/HX[0-9a-f]{12}X/);
    const unsub = m.headerLines.find((h) => h.key === "list-unsubscribe")?.line ?? "";
    expect(alerts[0]!.raw).toMatch(/List-Unsubscribe:\s+<https:\/\/news\.example\.org\/unsubscribe\?token=/);
    expect(unsub).toMatch(/unsubscribe\?token=/);
    expect(m.headerLines.find((h) => h.key === "list-unsubscribe-post")?.line).toBe(
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    );
    expect(m.html).toContain("https://news.example.org/preferences?token=");
  });

  it("uses the reader's language when a translation exists, else the original", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "fr@example.org", frequency: "immediate", language: "fr" });
    await addReader(rt, { email: "es@example.org", frequency: "immediate", language: "es" });
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "orig", title: "Original Title", publishedAt: "2026-11-28T09:00:00Z" }));
    await svc.publish(
      sampleRelease({
        id: "orig-fr",
        title: "Titre français",
        language: "fr",
        translationOf: "orig",
        publishedAt: "2026-11-28T09:00:00Z",
      }),
    );
    await runAlert(rt, { releaseId: "orig", revision: 1, event: "published" });
    env.start([QUEUE.emails]);
    await eventually(() => smtp.messages.length >= 2, 10_000, "two alerts");
    const fr = smtp.to("fr@example.org")[0]!.parsed;
    const es = smtp.to("es@example.org")[0]!.parsed;
    expect(fr.subject).toBe("Titre français");
    expect(fr.text).toContain("Bonjour,");
    expect(fr.text).toContain("28 novembre 2026");
    expect(fr.headers.get("content-language")).toBe("fr");
    expect(es.subject).toBe("Original Title");
    expect(es.text).toContain("Hola:");
    expect(es.text).toContain("28 de noviembre de 2026");
    // The translation's own event reaches nobody new: both readers have the story.
    const again = await runAlert(rt, { releaseId: "orig-fr", revision: 1, event: "published" });
    expect(again).toMatchObject({ readers: 0 });
  });

  it("one alert per story even when the original and its translation fan out together", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "claire@example.org", language: "fr", frequency: "immediate" });
    await addReader(rt, { email: "amy@example.org", language: "en", frequency: "immediate" });
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "story", title: "Original" }));
    await svc.publish(sampleRelease({ id: "story-fr", language: "fr", translationOf: "story", title: "Traduction" }));
    // Both alerts plan their segments before anything is sent: the race the demo showed.
    await runAlert(rt, { releaseId: "story", revision: 1, event: "published" });
    await runAlert(rt, { releaseId: "story-fr", revision: 1, event: "published" });
    env.start([QUEUE.emails]);
    await eventually(
      () => smtp.to("claire@example.org").length >= 1 && smtp.to("amy@example.org").length >= 1,
      10_000,
      "the alerts",
    );
    await env.drained();
    expect(smtp.to("claire@example.org").map((m) => m.parsed.subject)).toEqual(["Traduction"]);
    expect(smtp.to("amy@example.org").map((m) => m.parsed.subject)).toEqual(["Original"]);
  });

  it("running the same send job twice sends once", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "once@example.org", frequency: "immediate" });
    await new ReleaseService(rt).publish(sampleRelease({ id: "once" }));
    await runAlert(rt, { releaseId: "once", revision: 1, event: "published" });
    const [job] = await batches();
    expect(job).toBeTruthy();
    expect(await sendBatch(rt, job!)).toMatchObject({ sent: 1 });
    expect(await sendBatch(rt, job!)).toMatchObject({ sent: 0 });
    // Fanning out again queues no new batch either.
    await runAlert(rt, { releaseId: "once", revision: 1, event: "published" });
    expect(await batches()).toHaveLength(1);
    expect(smtp.to("once@example.org")).toHaveLength(1);
  });

  it("a reader who unsubscribes after enqueue gets nothing", async () => {
    const { rt, smtp } = env;
    const s = await addReader(rt, { email: "late@example.org", frequency: "immediate" });
    await new ReleaseService(rt).publish(sampleRelease({ id: "late" }));
    await runAlert(rt, { releaseId: "late", revision: 1, event: "published" });
    await new SubscriberService(rt).unsubscribe(s.id);
    const [job] = await batches();
    expect(await sendBatch(rt, job!)).toMatchObject({ sent: 0, skipped: 1 });
    expect(smtp.messages).toHaveLength(0);
  });

  it("withdrawal stops queued sends", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "w@example.org", frequency: "immediate" });
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "pulled" }));
    await runAlert(rt, { releaseId: "pulled", revision: 1, event: "published" });
    await svc.withdraw("pulled");
    const [job] = await batches();
    expect(await sendBatch(rt, job!)).toMatchObject({ sent: 0 });
    expect(smtp.messages).toHaveLength(0);
  });

  it("a 550 marks the reader bounced and they are never mailed again; a 421 retries", async () => {
    const { rt, smtp } = env;
    const bad = await addReader(rt, { email: "gone@example.org", frequency: "immediate" });
    await addReader(rt, { email: "busy@example.org", frequency: "immediate" });
    smtp.refuse("gone@example.org", 550);
    smtp.refuse("busy@example.org", 421);
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "b1" }));
    await runAlert(rt, { releaseId: "b1", revision: 1, event: "published" });
    const [job] = await batches();
    await expect(sendBatch(rt, job!)).rejects.toThrow(/not accepted yet/);
    expect((await new SubscriberService(rt).store.get(bad.id))?.status).toBe("bounced");
    smtp.allowAll();
    expect(await sendBatch(rt, job!)).toMatchObject({ sent: 1, skipped: 1 });
    expect(smtp.to("busy@example.org")).toHaveLength(1);
    expect(smtp.to("gone@example.org")).toHaveLength(0);
    // Suppressed: not even selected for the next release.
    await svc.publish(sampleRelease({ id: "b2" }));
    expect(await runAlert(rt, { releaseId: "b2", revision: 1, event: "published" })).toMatchObject({ readers: 1 });
  });

  it("a correction goes only to readers who got an earlier revision, once per revision", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "early@example.org", frequency: "immediate" });
    const svc = new ReleaseService(rt);
    env.start();
    await svc.publish(sampleRelease({ id: "fix", title: "Figures Released" }));
    await eventually(() => smtp.messages.length === 1, 10_000, "the alert");
    await addReader(rt, { email: "later@example.org", frequency: "immediate" });
    await svc.update(
      "fix",
      sampleRelease({ title: "Figures Released (corrected)" }),
      "The number of officials was 40, not 14.",
    );
    await eventually(() => smtp.messages.length === 2, 10_000, "the notice");
    await env.drained();
    expect(smtp.to("later@example.org")).toHaveLength(0);
    const notice = smtp.to("early@example.org")[1]!.parsed;
    expect(notice.subject).toBe("Correction: Figures Released (corrected)");
    expect(notice.text).toContain("The number of officials was 40, not 14.");
    expect(await runAlert(rt, { releaseId: "fix", revision: 2, event: "updated" })).toMatchObject({ batches: 1 });
    await env.drained();
    expect(smtp.messages).toHaveLength(2);
  });
});
