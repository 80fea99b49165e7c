// Herald's core flows end to end on whatever Redis a runtime is connected to (single, Cluster,
// Sentinel): publish -> alert email, signed webhook, feed entry; subscribe, confirm,
// unsubscribe; the daily digest. Real workers, the real HTTP app, a real SMTP server and a real
// webhook receiver.
// Used by the Cluster and Sentinel suites so both run exactly the same checks.
import type { FastifyInstance } from "fastify";
import { expect } from "vitest";
import { buildApp } from "../../src/http/app.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { closeMailer } from "../../src/mail/transport.ts";
import { generateSecret } from "../../src/partners/model.ts";
import { addPartner } from "../../src/partners/service.ts";
import type { Runtime } from "../../src/runtime.ts";
import { parseWithRssParser } from "./feeds.ts";
import { TEST_TOKEN } from "./http.ts";
import { TEST_SECRET } from "./mail.ts";
import { sampleRelease } from "./releases.ts";
import { drained } from "./drain.ts";
import { eventually } from "./runtime.ts";
import type { TestSmtp } from "./smtp.ts";
import type { Receiver } from "./webhook-receiver.ts";

export interface Herald {
  rt: Runtime;
  app: FastifyInstance;
  workers: Workers;
  stop(): Promise<void>;
}

/** Workers for every queue and the HTTP app on `rt` (the way `herald start` runs them). */
export async function startHerald(rt: Runtime): Promise<Herald> {
  const workers = startWorkers(rt);
  const app = await buildApp(rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
  await app.ready();
  return {
    rt,
    app,
    workers,
    async stop() {
      await app.close();
      await workers.close();
      closeMailer(rt);
    },
  };
}

export const heraldConfig = (smtp: TestSmtp) => ({
  smtpUrl: smtp.url,
  secretKey: TEST_SECRET,
  emailRatePerSecond: 1000,
  publicUrl: "https://news.example.org",
  mailFrom: "IOM News <news@iom.example>",
  partnerRetrySchedule: [0, 200, 500, 1000, 2000, 3000, 5000, 8000],
  workerLockMs: 5000,
});

const auth = { authorization: `Bearer ${TEST_TOKEN}` };

function form(app: FastifyInstance, url: string, fields: Record<string, string>) {
  return app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams(fields).toString(),
  });
}

function linkIn(text: string, path: string): string {
  const m = new RegExp(`https://news\\.example\\.org(/${path}\\?token=[^\\s"<]+)`).exec(text);
  if (!m) throw new Error(`no ${path} link`);
  return m[1]!.replace(/&amp;/g, "&");
}

export interface Reader {
  email: string;
  unsubscribe: string;
}

/** Subscribe through the form, confirm through the emailed link: a confirmed immediate reader. */
export async function subscribeAndConfirm(h: Herald, smtp: TestSmtp, email: string): Promise<Reader> {
  const res = await form(h.app, "/subscribe", { email, frequency: "immediate", language: "en" });
  expect(res.statusCode).toBe(202);
  const mail = await eventually(() => smtp.to(email)[0], 20_000, `the confirmation email to ${email}`);
  // The link's page has a button; its POST confirms (a GET, as a mail scanner sends, confirms nobody).
  const ok = await h.app.inject({ method: "POST", url: linkIn(mail.parsed.text ?? "", "confirm") });
  expect(ok.statusCode).toBe(200);
  expect(ok.body).toContain("Subscription confirmed");
  return { email, unsubscribe: "" };
}

/** POST /api/releases, answered 202. */
export async function publish(h: Herald, id: string, title: string): Promise<void> {
  const res = await h.app.inject({
    method: "POST",
    url: "/api/releases",
    headers: auth,
    payload: sampleRelease({ id, title, publishedAt: new Date().toISOString() }),
  });
  expect(res.statusCode, res.body).toBe(202);
}

/** An alert for `id` reached `email` (exactly once so far). */
export async function alertArrives(smtp: TestSmtp, email: string, id: string, timeoutMs = 20_000): Promise<string> {
  const mail = await eventually(
    () => smtp.to(email).find((m) => m.parsed.messageId?.startsWith(`<alert-${id}-r1.`)),
    timeoutMs,
    `the alert for ${id} to ${email}`,
  );
  return mail.parsed.text ?? "";
}

/**
 * publish -> alert email, signed webhook, feed entry; subscribe/confirm/unsubscribe. Returns
 * the partner route so callers can count deliveries later.
 */
export async function runCoreFlows(h: Herald, smtp: TestSmtp, rx: Receiver, tag: string): Promise<void> {
  const secret = generateSecret();
  const route = `/partner-${tag}`;
  rx.route(route, { secret });
  await addPartner(h.rt, { name: `Partner ${tag}`, url: rx.url(route), secret, allowPrivate: true });

  const email = `reader-${tag}@example.org`;
  await subscribeAndConfirm(h, smtp, email);
  // Daily readers (through the API, confirmed) for the digest at the end, in two languages.
  const daily = [`daily-a-${tag}@example.org`, `daily-b-${tag}@example.org`, `daily-c-${tag}@example.org`];
  for (const [i, address] of daily.entries()) {
    const res = await h.app.inject({
      method: "POST",
      url: "/api/subscribers",
      headers: auth,
      payload: { email: address, frequency: "daily", language: i === 2 ? "fr" : "en", confirmed: true },
    });
    expect(res.statusCode, res.body).toBe(201);
  }

  await publish(h, `${tag}-one`, `First story ${tag}`);
  const text = await alertArrives(smtp, email, `${tag}-one`);
  expect(text).toContain(`First story ${tag}`);
  const hook = await eventually(
    () => rx.delivered(route).find((r) => r.json?.data?.uri?.includes(`${tag}-one`) || r.body.includes(`${tag}-one`)),
    20_000,
    "the webhook",
  );
  expect(hook.verified).toBe(true);
  expect(hook.json.type).toBe("release.published");
  await eventually(
    async () => {
      const res = await h.app.inject({ url: "/feeds/rss.xml" });
      if (res.statusCode !== 200) return false;
      return (await parseWithRssParser(res.body)).items.some((i) => i.title === `First story ${tag}`);
    },
    20_000,
    "the feed entry",
  );

  // One-click unsubscribe (RFC 8058), then a second story: feed and webhook, no email.
  const oneClick = linkIn(text, "unsubscribe");
  const unsub = await h.app.inject({
    method: "POST",
    url: oneClick,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: "List-Unsubscribe=One-Click",
  });
  expect(unsub.statusCode).toBe(200);
  await publish(h, `${tag}-two`, `Second story ${tag}`);
  await eventually(() => rx.delivered(route).some((r) => r.body.includes(`${tag}-two`)), 20_000, "the second webhook");
  await eventually(
    async () =>
      (await parseWithRssParser((await h.app.inject({ url: "/feeds/rss.xml" })).body)).items.some(
        (i) => i.title === `Second story ${tag}`,
      ),
    20_000,
    "the second feed entry",
  );
  await drained(h.rt);
  expect(smtp.to(email).filter((m) => m.parsed.messageId?.startsWith(`<alert-${tag}-two`))).toHaveLength(0);
  // Nothing twice: one confirmation and one alert for this reader; one delivery per story.
  expect(smtp.to(email)).toHaveLength(2);
  expect(rx.delivered(route).filter((r) => r.body.includes(`${tag}-one`))).toHaveLength(1);

  // The daily digest, run now by ops: each daily reader gets both stories in one email.
  const run = await h.app.inject({ method: "POST", url: "/api/digests/daily/run", headers: auth, payload: {} });
  expect(run.statusCode, run.body).toBe(202);
  const digestsTo = (address: string) => smtp.to(address).filter((m) => m.parsed.messageId?.startsWith("<daily-"));
  for (const address of daily) {
    const mail = await eventually(() => digestsTo(address)[0], 20_000, `the digest to ${address}`);
    expect(mail.parsed.text).toContain(`First story ${tag}`);
    expect(mail.parsed.text).toContain(`Second story ${tag}`);
  }
  await drained(h.rt);
  for (const address of daily) expect(digestsTo(address)).toHaveLength(1);
  expect(smtp.to(email).filter((m) => m.parsed.messageId?.startsWith("<daily-"))).toHaveLength(0);
}
