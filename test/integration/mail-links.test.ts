// What a reader receives, read from real sent mail (smtp-server + mailparser): every mention of a
// release links to its page on PUBLIC_URL, in the reader's language version, and each link
// answers 200 from the running app; list mail carries List-Id; the preheader is visible text, not
// hidden white 1px text; the feature image shows with its alt text; a bracketed word in a title
// stays text.
import { generateKeyPairSync } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runDigest } from "../../src/mail/digests.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { freePort } from "../../src/redis/embedded.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { testApp } from "../helpers/http.ts";
import { addReader, type MailEnv, mailEnv } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import type { Received } from "../helpers/smtp.ts";
import { eventually } from "../helpers/runtime.ts";

let env: MailEnv;
let app: FastifyInstance;
let base: string;

beforeEach(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = await mailEnv({ label: "links", config: { publicUrl: base, listId: "IOM newsroom <news.iom.example>" } });
  app = await testApp(env.rt);
  await app.listen({ host: "127.0.0.1", port });
});
afterEach(async () => {
  await app.close();
  await env.stop();
});

/** Every release link of a message: hrefs in the HTML part, URLs in the text part. */
function releaseLinks(m: Received): { html: string[]; text: string[] } {
  const html = [...(m.parsed.html || "").matchAll(/href="([^"]+)"/g)]
    .map((x) => x[1]!.replaceAll("&amp;", "&"))
    .filter((u) => u.includes("/releases/"));
  const text = [...(m.parsed.text ?? "").matchAll(/https?:\/\/\S+/g)]
    .map((x) => x[0])
    .filter((u) => u.includes("/releases/"));
  return { html, text };
}

async function expectAllAnswer200(urls: string[]): Promise<void> {
  expect(urls.length).toBeGreaterThan(0);
  for (const url of new Set(urls)) {
    expect(url.startsWith(`${base}/releases/`), url).toBe(true);
    const res = await fetch(url);
    expect(res.status, url).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    await res.arrayBuffer();
  }
}

describe("list headers under DKIM", () => {
  it("with DKIM on, the signature covers List-Id, List-Unsubscribe and List-Unsubscribe-Post", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const dkimEnv = await mailEnv({
      label: "links-dkim",
      config: {
        dkim: {
          domain: "iom.example",
          selector: "herald",
          privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        },
      },
    });
    try {
      await addReader(dkimEnv.rt, { email: "signed@example.org", frequency: "immediate" });
      dkimEnv.start();
      await new ReleaseService(dkimEnv.rt).publish(sampleRelease({ id: "signed" }));
      await eventually(() => dkimEnv.smtp.to("signed@example.org").length === 1, 15_000, "the alert");
      const raw = dkimEnv.smtp.to("signed@example.org")[0]!.raw;
      const sig = /^DKIM-Signature:((?:.*)(?:\r?\n[ \t].*)*)/m.exec(raw)?.[1]?.replace(/\s+/g, "") ?? "";
      const signed = (/;h=([^;]+)/.exec(sig)?.[1] ?? "").toLowerCase().split(":");
      expect(signed).toEqual(
        expect.arrayContaining(["list-id", "list-unsubscribe", "list-unsubscribe-post", "from", "subject"]),
      );
      expect(raw).toMatch(/^List-Id: "IOM News" <news\.iom\.example>\r?$/m); // derived from MAIL_FROM "IOM News <news@iom.example>"
    } finally {
      await dkimEnv.stop();
    }
  });
});

describe("links in mail", () => {
  it("alerts: headline, read-more and image link to the release page in the reader's language; all answer 200", async () => {
    const { rt, smtp } = env;
    await addReader(rt, { email: "en@example.org", frequency: "immediate", language: "en" });
    await addReader(rt, { email: "fr@example.org", frequency: "immediate", language: "fr" });
    const svc = new ReleaseService(rt);
    await svc.publish(
      sampleRelease({
        id: "linked",
        title: "Call for <Test> entries",
        url: "https://www.iom.int/",
        image: { url: "https://img.example.org/officials.jpg", alt: "Officials in a classroom in Djibouti" },
      }),
    );
    await svc.publish(
      sampleRelease({ id: "linked-fr", title: "Appel à <Test> candidatures", language: "fr", translationOf: "linked" }),
    );
    env.start();
    await eventually(
      () => smtp.to("en@example.org").length >= 1 && smtp.to("fr@example.org").length >= 1,
      15_000,
      "both alerts",
    );

    const en = smtp.to("en@example.org")[0]!;
    const fr = smtp.to("fr@example.org")[0]!;
    const enLinks = releaseLinks(en);
    const frLinks = releaseLinks(fr);
    // Headline, image and button in HTML; the headline line and "Read more" in text.
    expect(enLinks.html.filter((u) => u === `${base}/releases/linked`).length).toBeGreaterThanOrEqual(3);
    expect(enLinks.text).toEqual([`${base}/releases/linked`, `${base}/releases/linked`]);
    expect(en.parsed.text).toContain(`Read more: ${base}/releases/linked`);
    // The French reader is sent to the French version.
    expect(new Set([...frLinks.html, ...frLinks.text])).toEqual(new Set([`${base}/releases/linked-fr`]));
    expect(fr.parsed.text).toContain(`Lire la suite\u00a0: ${base}/releases/linked-fr`);
    // Never the organisation's site root, which is not the release.
    expect(en.parsed.html).not.toContain('href="https://www.iom.int/"');
    await expectAllAnswer200([...enLinks.html, ...enLinks.text, ...frLinks.html, ...frLinks.text]);
    const page = await (await fetch(`${base}/releases/linked`)).text();
    expect(page).toContain("<h1>Call for &lt;Test&gt; entries</h1>");

    // The feature image, with its alt text.
    expect(en.parsed.html).toMatch(/<img[^>]+src="https:\/\/img\.example\.org\/officials\.jpg"[^>]*>/);
    expect(en.parsed.html).toMatch(/<img[^>]+alt="Officials in a classroom in Djibouti"/);

    // The bracketed word is text: in the subject as typed, escaped in HTML, as is in text.
    expect(en.parsed.subject).toBe("Call for <Test> entries");
    expect(en.parsed.html).toContain("Call for &lt;Test&gt; entries");
    expect(en.parsed.text).toContain("Call for <Test> entries");
    expect(fr.parsed.subject).toBe("Appel à <Test> candidatures");

    // List mail: List-Id (RFC 2919) next to List-Unsubscribe.
    expect(en.raw).toMatch(/^List-Id: "IOM newsroom" <news\.iom\.example>\r?$/m);
    expect(en.parsed.headerLines.find((h) => h.key === "list-id")?.line).toBe(
      'List-Id: "IOM newsroom" <news.iom.example>',
    );

    // The preheader is readable text at the top, not mj-preview's hidden white 1px trick.
    const html = en.parsed.html || "";
    expect(html).not.toMatch(/display:\s*none/i);
    expect(html).not.toMatch(/color:\s*#fff(fff)?\b[^"]*font-size:\s*1px|font-size:\s*1px[^"]*color:\s*#fff/i);
    expect(html).not.toMatch(/opacity:\s*0[;"]/);
    const body = html.slice(html.indexOf("<body"));
    expect(body.indexOf("A three-day course for border officials")).toBeGreaterThan(-1);
    expect(body.indexOf("A three-day course for border officials")).toBeLessThan(body.indexOf("Hello,"));
  });

  it("confirmation mail is not list mail: no List-Id", async () => {
    const { rt, smtp } = env;
    env.start([QUEUE.emails]);
    await addReader(rt, { email: "pending@example.org", frequency: "immediate" }, false);
    await eventually(() => smtp.to("pending@example.org").length === 1, 10_000, "the confirmation");
    const m = smtp.to("pending@example.org")[0]!;
    expect(m.parsed.headerLines.some((h) => h.key === "list-id")).toBe(false);
    expect(m.parsed.headerLines.some((h) => h.key === "list-unsubscribe")).toBe(false);
    expect(m.raw).not.toMatch(/^List-Id:/im);
  });

  it("digests (HTML and text) and correction notices link to the release pages; all answer 200", async () => {
    const { rt, smtp, clock } = env;
    await addReader(rt, { email: "daily@example.org", frequency: "daily", language: "en" });
    await addReader(rt, { email: "quotidien@example.org", frequency: "daily", language: "fr" });
    await addReader(rt, { email: "now@example.org", frequency: "immediate", language: "en" });
    const svc = new ReleaseService(rt);
    await svc.publish(
      sampleRelease({
        id: "dg-one",
        title: "First Story",
        publishedAt: "2026-11-28T08:00:00Z",
        url: "https://www.iom.int/",
      }),
    );
    await svc.publish(
      sampleRelease({ id: "dg-two", title: "Second Story", publishedAt: "2026-11-28T08:30:00Z", topics: ["health"] }),
    );
    await svc.publish(
      sampleRelease({
        id: "dg-two-fr",
        title: "Deuxième histoire",
        language: "fr",
        translationOf: "dg-two",
        publishedAt: "2026-11-28T08:30:00Z",
        topics: ["health"],
      }),
    );
    env.start();
    clock.set("2026-11-28T10:00:00Z");
    await runDigest(rt, "daily", Date.parse("2026-11-28T10:00:00Z"), { dryRun: false });
    await eventually(
      () => smtp.to("daily@example.org").length === 1 && smtp.to("quotidien@example.org").length === 1,
      15_000,
      "the digests",
    );

    const d = smtp.to("daily@example.org")[0]!;
    const dl = releaseLinks(d);
    expect(new Set(dl.html)).toEqual(new Set([`${base}/releases/dg-one`, `${base}/releases/dg-two`]));
    expect(new Set(dl.text)).toEqual(new Set([`${base}/releases/dg-one`, `${base}/releases/dg-two`]));
    expect(d.parsed.html).not.toContain(`href="${base}"`); // the site root is no headline link
    const q = smtp.to("quotidien@example.org")[0]!;
    const ql = releaseLinks(q);
    expect(ql.text).toContain(`${base}/releases/dg-two-fr`);
    expect(ql.html).toContain(`${base}/releases/dg-two-fr`);
    expect(d.raw).toMatch(/^List-Id: "IOM newsroom" <news\.iom\.example>\r?$/m);
    await expectAllAnswer200([...dl.html, ...dl.text, ...ql.html, ...ql.text]);

    // The immediate reader got dg-one's alert; its correction links to the page too.
    await eventually(
      () => smtp.to("now@example.org").some((m) => m.parsed.subject === "First Story"),
      15_000,
      "the alert",
    );
    await svc.update(
      "dg-one",
      sampleRelease({ title: "First Story (corrected)", publishedAt: "2026-11-28T08:00:00Z" }),
      "Fixed a figure.",
    );
    await eventually(
      () => smtp.to("now@example.org").some((m) => m.parsed.subject?.startsWith("Correction:")),
      15_000,
      "the notice",
    );
    const notice = smtp.to("now@example.org").find((m) => m.parsed.subject?.startsWith("Correction:"))!;
    const nl = releaseLinks(notice);
    expect(new Set([...nl.html, ...nl.text])).toEqual(new Set([`${base}/releases/dg-one`]));
    expect(nl.html.length).toBeGreaterThanOrEqual(2); // headline and button
    expect(notice.parsed.text).toContain(`Read more: ${base}/releases/dg-one`);
    expect(notice.raw).toMatch(/^List-Id:/m);
    await expectAllAnswer200([...nl.html, ...nl.text]);
  });
});
