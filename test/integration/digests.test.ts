import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { digestTick, localTime, previewDigest, runDigest } from "../../src/mail/digests.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { upsertSchedules } from "../../src/jobs/schedules.ts";
import { Ledger } from "../../src/mail/ledger.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { templateStats } from "../../src/templates/stats.ts";
import { addReader, type MailEnv, mailEnv } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually } from "../helpers/runtime.ts";

let env: MailEnv;
beforeEach(async () => {
  env = await mailEnv({ label: "digest", now: "2026-11-27T14:00:00Z" });
});
afterEach(() => env.stop());

describe("local-time digests", () => {
  it("knows local hours and weekdays", () => {
    expect(localTime(Date.parse("2026-11-27T23:00:00Z"), "Asia/Tokyo")).toEqual({ hour: 8, weekday: "saturday" });
    expect(localTime(Date.parse("2026-11-28T13:00:00Z"), "America/Lima")).toEqual({ hour: 8, weekday: "saturday" });
  });

  it("a Tokyo reader gets the daily at 08:00 Tokyo, a Lima reader at 08:00 Lima; empty sends nothing", async () => {
    const { rt, smtp, clock } = env;
    await addReader(rt, {
      email: "tokyo@example.org",
      frequency: "daily",
      timezone: "Asia/Tokyo",
      language: "fr",
      name: "Aiko",
    });
    await addReader(rt, { email: "lima@example.org", frequency: "daily", timezone: "America/Lima", language: "es" });
    const svc = new ReleaseService(rt);
    await svc.publish(
      sampleRelease({ id: "d1", title: "First Story", publishedAt: "2026-11-27T13:30:00Z", topics: ["health"] }),
    );
    await svc.publish(
      sampleRelease({
        id: "d2",
        title: "Second Story",
        publishedAt: "2026-11-27T13:45:00Z",
        topics: ["counter-trafficking"],
      }),
    );
    env.start([QUEUE.emails]);

    // 22:00 UTC: 07:00 in Tokyo, 17:00 in Lima: nobody.
    expect(await digestTick(rt, Date.parse("2026-11-27T22:00:00Z"))).toEqual([]);
    // 23:00 UTC = 08:00 Saturday in Tokyo.
    const tokyo = await digestTick(rt, Date.parse("2026-11-27T23:00:00Z"));
    expect(tokyo).toMatchObject([{ frequency: "daily", edition: "daily-20261127T23", readers: 1 }]);
    await eventually(() => smtp.to("tokyo@example.org").length === 1, 10_000, "Tokyo digest");
    await env.drained();
    expect(smtp.to("lima@example.org")).toHaveLength(0);
    const t = smtp.to("tokyo@example.org")[0]!.parsed;
    expect(t.subject).toMatch(/2 nouveaux communiqués/);
    expect(t.text).toContain("Bonjour Aiko,");
    expect(t.text).toContain("First Story");
    // Section headings are the vocabulary's labels in the reader's language, never slugs.
    expect(t.text).toContain("SANTÉ");
    expect(t.text).toContain("LUTTE CONTRE LA TRAITE");
    expect(t.text).not.toMatch(/HEALTH|COUNTER/);
    expect(t.html).toContain("Santé");
    // Published 13:30 UTC on the 27th is 22:30 on the 27th in Tokyo.
    expect(t.text).toContain("27 novembre 2026");
    expect(t.html).toContain("Second Story");

    // 13:00 UTC on the 28th = 08:00 in Lima.
    await digestTick(rt, Date.parse("2026-11-28T13:00:00Z"));
    await eventually(() => smtp.to("lima@example.org").length === 1, 10_000, "Lima digest");
    expect(smtp.to("lima@example.org")[0]!.parsed.text).toContain("27 de noviembre de 2026");

    // Next morning in Tokyo with nothing new: no email.
    clock.set("2026-11-28T23:00:00Z");
    expect(await digestTick(rt, Date.parse("2026-11-28T23:00:00Z"))).toMatchObject([{ readers: 0, segments: [] }]);
    // Something new: only that, since the cursor moved after the accepted send.
    clock.set("2026-11-29T03:00:00Z");
    await svc.publish(sampleRelease({ id: "d3", title: "Third Story", publishedAt: "2026-11-29T02:00:00Z" }));
    await digestTick(rt, Date.parse("2026-11-29T23:00:00Z"));
    await eventually(() => smtp.to("tokyo@example.org").length === 2, 10_000, "second Tokyo digest");
    const second = smtp.to("tokyo@example.org")[1]!.parsed.text ?? "";
    expect(second).toContain("Third Story");
    expect(second).not.toContain("First Story");
  });

  it("the cursor does not move when the send is not accepted", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "flaky@example.org", frequency: "daily", timezone: "UTC" });
    await new ReleaseService(rt).publish(sampleRelease({ id: "f1", publishedAt: "2026-11-27T10:00:00Z" }));
    smtp.refuse("flaky@example.org", 421);
    const at = Date.parse("2026-11-28T08:00:00Z");
    const s = await runDigest(rt, "daily", at, { dryRun: false });
    const job = (await rt.queues[QUEUE.emails].getJobs(["waiting"]))[0]!;
    const { sendBatch } = await import("../../src/mail/send-emails.ts");
    await expect(sendBatch(rt, job.data)).rejects.toThrow();
    expect(
      await rt.redis.hget(rt.key("digest-cursor"), (await env.rt.redis.smembers(rt.key("subs", "daily")))[0]!),
    ).toBeNull();
    smtp.allowAll();
    expect(await sendBatch(rt, job.data)).toMatchObject({ sent: 1 });
    expect(await new Ledger(rt.redis, rt.config.prefix).progress(s.edition)).toMatchObject({ total: 1, sent: 1 });
  });

  it("a digest batch run again after its ledger expired sends nothing: the reader's cursor has reached it", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "once@example.org", frequency: "daily", timezone: "UTC" });
    await new ReleaseService(rt).publish(sampleRelease({ id: "o1", publishedAt: "2026-11-27T10:00:00Z" }));
    const s = await runDigest(rt, "daily", Date.parse("2026-11-28T08:00:00Z"), { dryRun: false });
    const job = (await rt.queues[QUEUE.emails].getJobs(["waiting"]))[0]!;
    const { sendBatch } = await import("../../src/mail/send-emails.ts");
    expect(await sendBatch(rt, job.data)).toMatchObject({ sent: 1 });
    // A digest's ledger is kept two days, not 180: the cursor is its lasting record.
    const ttl = await rt.redis.ttl(rt.key("ledger", s.edition));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * 24 * 3600);
    await rt.redis.del(rt.key("ledger", s.edition));
    expect(await sendBatch(rt, job.data)).toMatchObject({ sent: 0, skipped: 1 });
    expect(smtp.to("once@example.org")).toHaveLength(1);
  });

  it("segments share one MJML render; dry run counts without sending", async () => {
    const { rt, smtp } = env;
    for (let i = 0; i < 6; i++)
      await addReader(rt, { email: `r${i}@example.org`, frequency: "weekly", language: i % 2 ? "en" : "es" });
    await addReader(rt, { email: "h@example.org", frequency: "weekly", topics: ["health"] });
    await new ReleaseService(rt).publish(sampleRelease({ id: "w1", publishedAt: "2026-11-26T10:00:00Z" }));
    const at = Date.parse("2026-11-27T12:00:00Z");
    const dry = await runDigest(rt, "weekly", at, { dryRun: true });
    expect(dry.segments.map((s) => [s.language, s.readers]).sort()).toEqual([
      ["en", 3],
      ["es", 3],
    ]);
    expect(await rt.queues[QUEUE.emails].count()).toBe(0);
    const before = templateStats.mjmlRenders;
    env.start([QUEUE.emails]);
    const run = await runDigest(rt, "weekly", at, { dryRun: false });
    expect(templateStats.mjmlRenders - before).toBe(2);
    expect(run).toMatchObject({ readers: 6 });
    await eventually(() => smtp.messages.length === 6, 10_000, "six digests");
    const ids = new Set(smtp.messages.map((m) => m.parsed.messageId));
    expect(ids.size).toBe(6);
  });

  it("previews the exact digest a reader would get", async () => {
    const { rt } = env;
    const s = await addReader(rt, { email: "p@example.org", frequency: "daily", name: "Pat <b>".replace(/[<>]/g, "") });
    expect(await previewDigest(rt, "daily", s, rt.clock.now())).toBeNull();
    await new ReleaseService(rt).publish(
      sampleRelease({ id: "p1", title: "Preview < Story > & more <b>now</b>", publishedAt: "2026-11-27T10:00:00Z" }),
    );
    const html = await previewDigest(rt, "daily", s, rt.clock.now());
    // Escaped text; the tag in the title was stripped when the release was stored.
    expect(html).toContain("Preview &lt; Story &gt; &amp; more now");
    expect(html).toContain("Hello Pat b,");
    expect(html).toContain("https://news.example.org/unsubscribe?token=");
  });

  it("upserts one hourly digest scheduler and one pending-expiry scheduler", async () => {
    await upsertSchedules(env.rt);
    await upsertSchedules(env.rt);
    const schedulers = await env.rt.queues[QUEUE.digests].getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern]).sort()).toEqual([
      ["digest-hourly", "0 * * * *"],
      ["pending-expiry", "30 * * * *"],
    ]);
  });
});
