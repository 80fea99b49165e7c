import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.ts";
import { runAlert } from "../../src/jobs/alerts.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { auth, TEST_TOKEN } from "../helpers/http.ts";
import { addReader, type MailEnv, mailEnv, TEST_SECRET } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually } from "../helpers/runtime.ts";

let env: MailEnv;
let app: FastifyInstance;
beforeEach(async () => {
  env = await mailEnv({ label: "people" });
  app = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await env.stop();
});

const form = (url: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) p.append(k, x);
  return app.inject({ method: "POST", url, headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, payload: p.toString() });
};
const linkIn = (text: string, path: string) => {
  const m = new RegExp(`https://news\\.example\\.org(/${path}\\?token=[^\\s"<]+)`).exec(text);
  if (!m) throw new Error(`no ${path} link`);
  return m[1]!.replace(/&amp;/g, "&");
};
const store = () => new SubscriberService(env.rt).store;

describe("double opt-in", () => {
  it("subscribe, get the confirmation email, confirm, manage", async () => {
    const { rt, smtp } = env;
    await new ReleaseService(rt).publish(sampleRelease({ topics: ["health"], regions: ["chad"] }));
    const get = await app.inject({ url: "/subscribe", headers: { "accept-language": "fr-CA,fr;q=0.9,en;q=0.5" } });
    expect(get.statusCode).toBe(200);
    expect(get.body).toContain('<html lang="fr">');
    expect(get.body).toContain('value="health"');
    // Feed autodiscovery on every page Herald serves.
    expect(get.body).toContain('<link rel="alternate" type="application/atom+xml"');

    const res = await form("/subscribe", { email: "New.Reader@Example.ORG", name: "Nour", language: "es", frequency: "weekly", topics: "health", timezone: "America/Lima" });
    expect(res.statusCode).toBe(202);
    const s = await store().byEmail("New.Reader@example.org");
    expect(s).toMatchObject({ status: "pending", language: "es", topics: ["health"], timezone: "America/Lima", frequency: "weekly" });

    env.start([QUEUE.emails]);
    await eventually(() => smtp.messages.length === 1, 10_000, "the confirmation email");
    const mail = smtp.messages[0]!.parsed;
    // The organisation's Spanish name, with its article (ORG_NAME_ES; IOM's by default).
    expect(mail.subject).toBe("Confirme su suscripción a las noticias de la Organización Internacional para las Migraciones (OIM)");
    expect(mail.text).toContain("Hola, Nour:");
    const confirm = linkIn(mail.text ?? "", "confirm");
    expect(mail.html).toContain("/confirm?token=");

    const ok = await app.inject({ url: confirm });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain("Suscripción confirmada");
    expect((await store().get(s!.id))?.status).toBe("confirmed");
    // A forged or truncated token changes nothing.
    expect((await app.inject({ url: `${confirm.slice(0, -3)}abc` })).statusCode).toBe(400);

    const prefsUrl = linkIn(ok.body.replace(/&amp;/g, "&"), "preferences");
    const prefs = await app.inject({ url: prefsUrl });
    expect(prefs.body).toContain("Sus preferencias");
    const saved = await form(prefsUrl, { name: "Nour A.", language: "fr", frequency: "daily", topics: [], timezone: "Africa/Djibouti" });
    expect(saved.statusCode).toBe(200);
    expect(saved.body).toContain("Vos préférences sont enregistrées.");
    expect(await store().get(s!.id)).toMatchObject({ status: "confirmed", language: "fr", frequency: "daily", topics: [], timezone: "Africa/Djibouti", name: "Nour A." });
  });

  it("answers the same for new, pending and confirmed addresses, and mails at most once an hour", async () => {
    const { rt } = env;
    await addReader(rt, { email: "known@example.org" });
    const a = await form("/subscribe", { email: "known@example.org" }, { accept: "application/json" });
    const b = await form("/subscribe", { email: "fresh@example.org" }, { accept: "application/json" });
    const c = await form("/subscribe", { email: "fresh@example.org" }, { accept: "application/json" });
    expect([a.statusCode, b.statusCode, c.statusCode]).toEqual([202, 202, 202]);
    expect(a.body).toBe(b.body);
    expect(b.body).toBe(c.body);
    expect((await store().byEmail("known@example.org"))?.status).toBe("confirmed");
    // One confirmation per address in the hour: known once, fresh once.
    expect(await rt.queues[QUEUE.emails].count()).toBe(2);
    env.clock.advance(3600_000 + 1);
    await form("/subscribe", { email: "fresh@example.org" });
    expect(await rt.queues[QUEUE.emails].count()).toBe(3);
  });

  it("refuses invalid input with every issue, and limits attempts per IP", async () => {
    const bad = await app.inject({ method: "POST", url: "/subscribe", headers: { "content-type": "application/json" }, payload: { email: "x", frequency: "hourly" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues.map((i: { path: string }) => i.path).sort()).toEqual(["email", "frequency"]);
    const html = await form("/subscribe", { email: "nope" });
    expect(html.statusCode).toBe(400);
    expect(html.body).toContain("email: an email address");
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await form("/subscribe", { email: `r${i}@example.org` }, { "x-forwarded-for": "203.0.113.9" })).statusCode);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
    expect((await form("/subscribe", { email: "other@example.org" }, { "x-forwarded-for": "203.0.113.10" })).statusCode).toBe(202);
  });

  it("the per-IP limit is shared by every web process (counted in Redis)", async () => {
    const second = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
    try {
      const post = (a: FastifyInstance, i: number) =>
        a.inject({ method: "POST", url: "/subscribe", headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "198.51.100.7" }, payload: `email=p${i}%40example.org` });
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) codes.push((await post(app, i)).statusCode, (await post(second, i + 100)).statusCode);
      expect(codes.filter((c) => c === 202)).toHaveLength(10);
      expect(codes.filter((c) => c === 429)).toHaveLength(2);
    } finally {
      await second.close();
    }
  });
});

describe("unsubscribe", () => {
  it("a GET changes nothing; the one-click POST stops the next send, even one already queued", async () => {
    const { rt, smtp } = env;
    const s = await addReader(rt, { email: "click@example.org", frequency: "immediate" });
    const svc = new ReleaseService(rt);
    env.start([QUEUE.emails]);
    await svc.publish(sampleRelease({ id: "u1" }));
    await runAlert(rt, { releaseId: "u1", revision: 1, event: "published" });
    await eventually(() => smtp.messages.length === 1, 10_000, "first alert");
    const url = linkIn(smtp.messages[0]!.parsed.text ?? "", "unsubscribe");

    const page = await app.inject({ url });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('method="post"');
    expect((await store().get(s.id))?.status).toBe("confirmed");
    await svc.publish(sampleRelease({ id: "u2" }));
    await runAlert(rt, { releaseId: "u2", revision: 1, event: "published" });
    await eventually(() => smtp.messages.length === 2, 10_000, "second alert after the GET");

    await env.workers!.close();
    env.workers = null;
    await svc.publish(sampleRelease({ id: "u3" }));
    await runAlert(rt, { releaseId: "u3", revision: 1, event: "published" }); // queued before the click
    const click = await app.inject({ method: "POST", url, headers: { "content-type": "application/x-www-form-urlencoded" }, payload: "List-Unsubscribe=One-Click" });
    expect(click.statusCode).toBe(200);
    expect(click.headers.location).toBeUndefined();
    expect((await store().get(s.id))?.status).toBe("unsubscribed");
    env.start([QUEUE.emails]);
    await eventually(async () => (await rt.queues[QUEUE.emails].getJobCounts("completed")).completed === 3, 10_000, "the queued batch to run");
    expect(smtp.messages).toHaveLength(2);
    // Clicking again is fine.
    expect((await app.inject({ method: "POST", url })).statusCode).toBe(200);
  });
});

describe("ops API", () => {
  it("adds subscribers and queues digest runs, behind the bearer token", async () => {
    expect((await app.inject({ method: "POST", url: "/api/subscribers", payload: { email: "a@example.org" } })).statusCode).toBe(401);
    const add = await app.inject({ method: "POST", url: "/api/subscribers", headers: auth, payload: { email: "a@Example.org", frequency: "weekly", confirmed: true } });
    expect(add.statusCode).toBe(201);
    expect(add.json()).toMatchObject({ email: "a@example.org", status: "confirmed", frequency: "weekly" });
    const again = await app.inject({ method: "POST", url: "/api/subscribers", headers: auth, payload: { email: "a@example.org", frequency: "daily" } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: "confirmed", frequency: "daily" });
    const bad = await app.inject({ method: "POST", url: "/api/subscribers", headers: auth, payload: { email: "nope" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].path).toBe("email");

    expect((await app.inject({ method: "POST", url: "/api/digests/daily/run" })).statusCode).toBe(401);
    expect((await app.inject({ method: "POST", url: "/api/digests/hourly/run", headers: auth })).statusCode).toBe(400);
    const run = await app.inject({ method: "POST", url: "/api/digests/daily/run", headers: auth, payload: { dryRun: true } });
    expect(run.statusCode).toBe(202);
    const job = await env.rt.queues[QUEUE.digests].getJob(run.json().jobId);
    expect(job?.name).toBe("run");
    expect(job?.data).toMatchObject({ frequency: "daily", dryRun: true });
  });
});
