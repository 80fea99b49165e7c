// A translation published while its original is under embargo: nothing public names the
// original (its id is a slug that reads like its headline, and its headline is the news).
// Feeds in every format, the release pages, webhooks to partners without embargo access and the
// alert mail are all checked for both; a partner with embargo access still gets the link, and
// once the embargo lifts the translation's feeds name the original.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFeed } from "../../src/feeds/build.ts";
import { buildApp } from "../../src/http/app.ts";
import type { FeedKey } from "../../src/vocabulary.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { runDigest } from "../../src/mail/digests.ts";
import { dispatchReleaseEvent } from "../../src/jobs/release-events.ts";
import { generateSecret } from "../../src/partners/model.ts";
import { addPartner } from "../../src/partners/service.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { TEST_TOKEN } from "../helpers/http.ts";
import { addReader, type MailEnv, mailEnv, TEST_SECRET } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { validNinjs } from "../helpers/ninjs-schema.ts";
import { eventually } from "../helpers/runtime.ts";
import { type Receiver, startReceiver } from "../helpers/webhook-receiver.ts";

const ORIGINAL_ID = "merger-secret-plan";
const ORIGINAL_TITLE = "Secret Merger Headline";
const leaks = (s: string) => s.includes(ORIGINAL_ID) || s.includes(ORIGINAL_TITLE);

describe("a translation of an embargoed original", { timeout: 60_000 }, () => {
  let env: MailEnv;
  let rx: Receiver;
  const feeds: FeedKey[] = ["all", "languages/fr", "languages/en", "topics/counter-trafficking", "regions/djibouti"];

  beforeAll(async () => {
    rx = await startReceiver();
    env = await mailEnv({ label: "trembargo", config: { partnerRetrySchedule: [0, 50], partnerTimeoutMs: 2000 } });
    for (const [path, embargoAccess] of [
      ["/public", false],
      ["/early", true],
    ] as const) {
      const secret = generateSecret();
      rx.route(path, { secret });
      await addPartner(env.rt, {
        name: `Partner ${path}`,
        url: rx.url(path),
        secret,
        allowPrivate: true,
        embargoAccess,
      });
    }
    await addReader(env.rt, { email: "lecteur@example.org", language: "fr", frequency: "immediate" });
    await addReader(env.rt, { email: "reader@example.org", language: "en", frequency: "immediate" });
    await addReader(env.rt, { email: "quotidien@example.org", language: "fr", frequency: "daily" });
    await addReader(env.rt, { email: "daily@example.org", language: "en", frequency: "daily" });
    env.start([QUEUE.releaseEvents, QUEUE.partners, QUEUE.alerts, QUEUE.emails]);
    const svc = new ReleaseService(env.rt);
    await svc.publish(sampleRelease({ id: ORIGINAL_ID, title: ORIGINAL_TITLE, embargoUntil: "2026-11-29T10:00:00Z" }));
    await svc.publish(
      sampleRelease({
        id: "fusion-publique",
        title: "Fusion annoncée",
        language: "fr",
        translationOf: ORIGINAL_ID,
        publishedAt: "2026-11-28T09:00:00Z",
      }),
    );
    await eventually(
      () => rx.delivered("/public").length === 1 && rx.delivered("/early").length === 2,
      15_000,
      "webhooks",
    );
    await eventually(() => env.smtp.messages.length === 1, 15_000, "the alert to the French reader");
    for (const f of feeds) await buildFeed(env.rt, f);
  });
  afterAll(async () => {
    await env?.stop();
    await rx?.close();
  });

  it("feeds in every format and the release pages do not name the original", async () => {
    const app = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
    try {
      for (const f of feeds) {
        const dir = f === "all" ? "/feeds/" : `/feeds/${f}/`;
        for (const file of ["rss.xml", "atom.xml", "feed.json"]) {
          const res = await app.inject(`${dir}${file}`);
          expect(res.statusCode, `${dir}${file}`).toBe(200);
          // Only the embargoed original is in English: that feed is empty.
          if (f !== "languages/en") expect(res.body).toContain("fusion-publique");
          expect(leaks(res.body), `${dir}${file}`).toBe(false);
        }
      }
      const page = await app.inject("/releases/fusion-publique");
      expect(page.statusCode).toBe(200);
      expect(leaks(page.body)).toBe(false);
      expect(page.body).not.toContain("Also in");
      expect((await app.inject(`/releases/${ORIGINAL_ID}`)).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it("a partner without embargo access gets the translation without the link; one with access gets it", () => {
    const pub = rx.delivered("/public")[0]!;
    expect(leaks(pub.body)).toBe(false);
    expect(validNinjs(pub.json.data), JSON.stringify(validNinjs.errors)).toBe(true);
    const early = rx.delivered("/early").find((r) => r.json.data.altIds[0].value === "fusion-publique")!;
    expect(early.json.data.associations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rel: "translation-of", uri: expect.stringContaining(ORIGINAL_ID) }),
      ]),
    );
  });

  it("the alert mail names only the translation", () => {
    const [mail] = env.smtp.messages;
    expect(mail!.to).toEqual(["lecteur@example.org"]);
    expect(mail!.parsed.subject).toContain("Fusion annoncée");
    for (const part of [mail!.raw, mail!.parsed.subject ?? "", mail!.parsed.text ?? "", String(mail!.parsed.html)])
      expect(leaks(part)).toBe(false);
  });

  it("the daily digest names only the translation, and the English reader gets nothing of it", async () => {
    const summary = await runDigest(env.rt, "daily", env.clock.now(), { dryRun: false });
    expect(summary.readers).toBeGreaterThan(0);
    await eventually(() => env.smtp.to("quotidien@example.org").length === 1, 15_000, "the French digest");
    await eventually(
      async () => (await env.rt.queues[QUEUE.emails].count()) === 0,
      15_000,
      "the emails queue to drain",
    );
    const [digest] = env.smtp.to("quotidien@example.org");
    expect(digest!.parsed.text).toContain("Fusion annoncée");
    for (const part of [
      digest!.raw,
      digest!.parsed.subject ?? "",
      digest!.parsed.text ?? "",
      String(digest!.parsed.html),
    ])
      expect(leaks(part)).toBe(false);
    expect(env.smtp.to("daily@example.org")).toHaveLength(0);
  });

  it("a translation of an original that does not exist yet does not name it either", async () => {
    await new ReleaseService(env.rt).publish(
      sampleRelease({
        id: "traduccion-adelantada",
        title: "Traducción",
        language: "es",
        translationOf: "future-scoop-acquisition",
      }),
    );
    await buildFeed(env.rt, "languages/es");
    const app = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
    try {
      for (const file of ["feed.json", "atom.xml", "rss.xml"]) {
        const body = (await app.inject(`/feeds/languages/es/${file}`)).body;
        expect(body).toContain("traduccion-adelantada");
        expect(body).not.toContain("future-scoop-acquisition");
      }
    } finally {
      await app.close();
    }
    await eventually(() => rx.delivered("/public").length === 2, 15_000, "the Spanish translation's webhook");
    expect(rx.delivered("/public")[1]!.body).not.toContain("future-scoop-acquisition");
  });

  it("once the embargo lifts, the translation's feeds name the original", async () => {
    env.clock.advance(24 * 3600_000 + 1);
    const lifted = await new ReleaseService(env.rt).liftEmbargo(ORIGINAL_ID, 1);
    expect(lifted).toBeTruthy();
    const out = await dispatchReleaseEvent(env.rt, { releaseId: ORIGINAL_ID, revision: 1, event: "published" });
    expect(out.feeds).toContain("languages/fr");
    await buildFeed(env.rt, "languages/fr");
    const app = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
    try {
      const json = (await app.inject("/feeds/languages/fr/feed.json")).json();
      expect(JSON.stringify(json)).toContain(ORIGINAL_ID);
      expect((await app.inject("/releases/fusion-publique")).body).toContain(ORIGINAL_TITLE);
    } finally {
      await app.close();
    }
  });
});
