// Issue 14.8: a reader who unsubscribed and opens an old preferences link is told they are
// unsubscribed, with the way back to /subscribe; never "preferences saved" (nothing would be sent).
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.ts";
import { readerLinks } from "../../src/subscribers/links.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { TEST_TOKEN } from "../helpers/http.ts";
import { addReader, type MailEnv, mailEnv, TEST_SECRET } from "../helpers/mail.ts";

let env: MailEnv;
let app: FastifyInstance;
beforeEach(async () => {
  env = await mailEnv({ label: "prefunsub" });
  app = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await env.stop();
});

const path = (url: string) => url.replace("https://news.example.org", "");

describe("/preferences for an unsubscribed reader", () => {
  it("shows that they are unsubscribed, with a way to subscribe again, and saves nothing", async () => {
    const s = await addReader(env.rt, { email: "gone@example.org", language: "fr", frequency: "daily" });
    const prefs = path(readerLinks("https://news.example.org", TEST_SECRET, s.id).preferences);
    const before = await app.inject({ method: "GET", url: prefs });
    expect(before.statusCode).toBe(200);
    expect(before.body).toContain('action="/preferences');

    await new SubscriberService(env.rt).unsubscribe(s.id);

    const page = await app.inject({ method: "GET", url: prefs });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("Vous êtes désabonné·e");
    expect(page.body).toMatch(/href="\/subscribe\?lang=fr"/);
    expect(page.body).not.toContain('action="/preferences');

    const post = await app.inject({
      method: "POST",
      url: prefs,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "language=en&frequency=weekly",
    });
    expect(post.statusCode).toBe(200);
    expect(post.body).not.toContain("Your preferences are saved");
    expect(post.body).not.toContain("Vos préférences sont enregistrées");
    expect(post.body).toContain('href="/subscribe?lang=fr"');
    const json = await app.inject({
      method: "POST",
      url: prefs,
      headers: { "content-type": "application/json", accept: "application/json" },
      payload: { frequency: "weekly" },
    });
    expect(json.statusCode).toBe(409);
    expect(json.json()).toMatchObject({ error: expect.stringContaining("unsubscribed"), issues: [] });

    const after = await new SubscriberService(env.rt).store.byEmail("gone@example.org");
    expect(after).toMatchObject({ status: "unsubscribed", frequency: "daily", language: "fr" });
  });
});
