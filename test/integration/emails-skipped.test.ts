// herald_emails_skipped_total{reason}: every reader a send batch does not mail is counted under
// the reason it really had. The final reasons are the edition's skipped progress; a re-run's
// "already-sent" and a deferral's "held-by-other-run" are counted apart, never as sent.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAlert } from "../../src/mail/alerts.ts";
import { type EmailBatchJob, QUEUE } from "../../src/jobs/queues.ts";
import { Ledger } from "../../src/mail/ledger.ts";
import { sendBatch } from "../../src/mail/send-emails.ts";
import { readStats } from "../../src/metrics.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { addReader, type MailEnv, mailEnv } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";

let env: MailEnv;
beforeEach(async () => {
  env = await mailEnv({ label: "skipped" });
});
afterEach(() => env.stop());

const batches = async () =>
  (await env.rt.queues[QUEUE.emails].getJobs(["waiting", "delayed", "prioritized"])).map(
    (j) => j.data as EmailBatchJob,
  );

/** herald_emails_skipped_total by reason, and whether the old all-skips counter still moved. */
async function skipped(): Promise<{ byReason: Record<string, number>; oldName: boolean }> {
  const stats = await readStats(env.rt);
  const byReason: Record<string, number> = {};
  for (const s of stats) if (s.name === "herald_emails_skipped_total") byReason[s.labels.reason!] = s.value;
  return { byReason, oldName: stats.some((s) => (s.name as string) === "herald_emails_suppressed_total") };
}

describe("herald_emails_skipped_total", () => {
  it("counts each skip under its reason; a re-run's ledger hits and deferrals apart from the final ones", async () => {
    const { rt, smtp } = env;
    const svc = new SubscriberService(rt);
    const add = (email: string) => addReader(rt, { email, frequency: "immediate" });
    const [, , unsub, bounced, erased, held] = await Promise.all(
      ["a", "b", "unsub", "bounced", "erased", "held"].map((n) => add(`${n}@skipped.example`)),
    );
    await new ReleaseService(rt).publish(sampleRelease({ id: "skips" }));
    await runAlert(rt, { releaseId: "skips", revision: 1, event: "published" });
    const [job] = await batches();
    expect(job!.subscriberIds).toHaveLength(6);
    // After planning: one unsubscribes, one bounces elsewhere, one is erased, and a run that
    // is still alive holds another's lease.
    await svc.unsubscribe(unsub!.id);
    await svc.suppress(bounced!.id, "bounced", "550 no such user");
    await svc.remove(erased!.email);
    const ledger = new Ledger(rt.redis, rt.config.prefix);
    expect((await ledger.lease(job!.edition, "other-run", 60_000, [held!.id])).states).toEqual(["mine"]);

    expect(await sendBatch(rt, job!)).toMatchObject({ sent: 2, skipped: 3, deferred: 1, failed: 0 });
    expect(await skipped()).toEqual({
      byReason: { unsubscribed: 1, suppressed: 1, erased: 1, "held-by-other-run": 1 },
      oldName: false,
    });
    // The same batch again (a retry, or the run that took it over): a and b are in the ledger.
    expect(await sendBatch(rt, job!)).toMatchObject({ sent: 0, skipped: 3, deferred: 1 });
    expect((await skipped()).byReason).toEqual({
      unsubscribed: 2,
      suppressed: 2,
      erased: 2,
      "held-by-other-run": 2,
      "already-sent": 2,
    });
    expect(await ledger.progress(job!.edition)).toMatchObject({ sent: 2, skipped: 6, failed: 0 });
    expect(smtp.messages.flatMap((m) => m.to).sort()).toEqual(["a@skipped.example", "b@skipped.example"]);
  });

  it("a release withdrawn before its batch ran: every reader under release-withdrawn", async () => {
    const { rt, smtp } = env;
    for (const n of ["x", "y", "z"]) await addReader(rt, { email: `${n}@withdrawn.example`, frequency: "immediate" });
    const releases = new ReleaseService(rt);
    await releases.publish(sampleRelease({ id: "pulled" }));
    await runAlert(rt, { releaseId: "pulled", revision: 1, event: "published" });
    const [job] = await batches();
    await releases.withdraw("pulled");
    expect(await sendBatch(rt, job!)).toMatchObject({ sent: 0, skipped: 3 });
    expect((await skipped()).byReason).toEqual({ "release-withdrawn": 3 });
    expect(smtp.messages).toHaveLength(0);
  });

  it("one alert per story: the edition that lost the reader counts story-claimed", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "claire@story.example", language: "fr", frequency: "immediate" });
    const releases = new ReleaseService(rt);
    await releases.publish(sampleRelease({ id: "tale", title: "Original" }));
    await releases.publish(sampleRelease({ id: "tale-fr", language: "fr", translationOf: "tale", title: "Conte" }));
    // Both editions plan the reader before either sends (the original and its translation together).
    await runAlert(rt, { releaseId: "tale", revision: 1, event: "published" });
    await runAlert(rt, { releaseId: "tale-fr", revision: 1, event: "published" });
    const jobs = await batches();
    expect(jobs).toHaveLength(2);
    const results = [];
    for (const j of jobs) results.push(await sendBatch(rt, j));
    expect(results.map((r) => r.sent).sort()).toEqual([0, 1]);
    expect((await skipped()).byReason).toEqual({ "story-claimed": 1 });
    expect(smtp.messages).toHaveLength(1);
  });
});
