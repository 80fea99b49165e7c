import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.ts";
import { runAlert } from "../../src/mail/alerts.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { legacyId, subscriberId } from "../../src/subscribers/store.ts";
import { signToken } from "../../src/subscribers/tokens.ts";
import { auth, TEST_TOKEN } from "../helpers/http.ts";
import { addReader, type MailEnv, mailEnv, TEST_SECRET } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually } from "../helpers/runtime.ts";

let env: MailEnv;
let app: FastifyInstance;
beforeEach(async () => {
  // Clients are told apart by X-Forwarded-For, as behind a proxy on loopback (inject's peer).
  env = await mailEnv({ label: "people", config: { trustProxy: ["127.0.0.1"] } });
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
  return app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    payload: p.toString(),
  });
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

    const res = await form("/subscribe", {
      email: "New.Reader@Example.ORG",
      name: "Nour",
      language: "es",
      frequency: "weekly",
      topics: "health",
      timezone: "America/Lima",
    });
    expect(res.statusCode).toBe(202);
    const s = await store().byEmail("New.Reader@example.org");
    expect(s).toMatchObject({
      status: "pending",
      language: "es",
      topics: ["health"],
      timezone: "America/Lima",
      frequency: "weekly",
    });

    env.start([QUEUE.emails]);
    await eventually(() => smtp.messages.length === 1, 10_000, "the confirmation email");
    const mail = smtp.messages[0]!.parsed;
    // The organisation's Spanish name, with its article (ORG_NAME_ES; IOM's by default).
    expect(mail.subject).toBe(
      "Confirme su suscripción a las noticias de la Organización Internacional para las Migraciones (OIM)",
    );
    // A confirmation names nobody: the name was typed by whoever filled in the form.
    expect(mail.text).toContain("Hola:");
    expect(`${mail.text}${mail.html}`).not.toContain("Nour");
    expect(mail.to).toMatchObject({ value: [{ address: "New.Reader@example.org", name: "" }] });
    const confirm = linkIn(mail.text ?? "", "confirm");
    expect(mail.html).toContain("/confirm?token=");

    // The link shows a button (a GET confirms nobody); the button confirms.
    const shown = await app.inject({ url: confirm });
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain("Confirme su suscripción");
    expect(shown.body).toContain("New.Reader@example.org");
    expect((await store().get(s!.id))?.status).toBe("pending");
    const action = /<form method="post" action="([^"]+)">/.exec(shown.body)![1]!.replace(/&amp;/g, "&");
    const hidden = /name="token" value="([^"]+)"/.exec(shown.body)![1]!;
    const ok = await form(action, { token: hidden });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain("Suscripción confirmada");
    expect((await store().get(s!.id))?.status).toBe("confirmed");
    // A forged or truncated token changes nothing.
    expect((await app.inject({ url: `${confirm.slice(0, -3)}abc` })).statusCode).toBe(400);
    expect((await app.inject({ method: "POST", url: `${confirm.slice(0, -3)}abc` })).statusCode).toBe(400);

    const prefsUrl = linkIn(ok.body.replace(/&amp;/g, "&"), "preferences");
    const prefs = await app.inject({ url: prefsUrl });
    expect(prefs.body).toContain("Sus preferencias");
    const saved = await form(prefsUrl, {
      name: "Nour A.",
      language: "fr",
      frequency: "daily",
      topics: [],
      timezone: "Africa/Djibouti",
    });
    expect(saved.statusCode).toBe(200);
    expect(saved.body).toContain("Vos préférences sont enregistrées.");
    expect(await store().get(s!.id)).toMatchObject({
      status: "confirmed",
      language: "fr",
      frequency: "daily",
      topics: [],
      timezone: "Africa/Djibouti",
      name: "Nour A.",
    });
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
    const bad = await app.inject({
      method: "POST",
      url: "/subscribe",
      headers: { "content-type": "application/json" },
      payload: { email: "x", frequency: "hourly" },
    });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .issues.map((i: { path: string }) => i.path)
        .sort(),
    ).toEqual(["email", "frequency"]);
    const html = await form("/subscribe", { email: "nope" });
    expect(html.statusCode).toBe(400);
    expect(html.body).toContain("email: an email address");
    const codes: number[] = [];
    for (let i = 0; i < 12; i++)
      codes.push(
        (await form("/subscribe", { email: `r${i}@example.org` }, { "x-forwarded-for": "203.0.113.9" })).statusCode,
      );
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
    expect(
      (await form("/subscribe", { email: "other@example.org" }, { "x-forwarded-for": "203.0.113.10" })).statusCode,
    ).toBe(202);
  });

  it("the per-IP limit is shared by every web process (counted in Redis)", async () => {
    const second = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
    try {
      const post = (a: FastifyInstance, i: number) =>
        a.inject({
          method: "POST",
          url: "/subscribe",
          headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "198.51.100.7" },
          payload: `email=p${i}%40example.org`,
        });
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) codes.push((await post(app, i)).statusCode, (await post(second, i + 100)).statusCode);
      expect(codes.filter((c) => c === 202)).toHaveLength(10);
      expect(codes.filter((c) => c === 429)).toHaveLength(2);
    } finally {
      await second.close();
    }
  });
});

describe("subscribe abuse: one mailbox, however its address is spelled", () => {
  // Each from its own client address (remoteAddress), so the per-IP limit is not what stops them.
  const subscribeFrom = (i: number, fields: Record<string, string>) =>
    app.inject({
      method: "POST",
      url: "/subscribe",
      remoteAddress: `10.7.${i >> 8}.${i & 255}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams(fields).toString(),
    });

  it("20 concurrent subscribes for spellings of one address: one reader, exactly one confirmation over SMTP", async () => {
    const { rt, smtp } = env;
    const spellings = ["A@x.org", "a@X.ORG", " a@x.org", "a@x.org ", "A@X.Org", "\ta@x.org", "a@x.ORG", "A@x.org\n"];
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        subscribeFrom(i, { email: spellings[i % spellings.length]!, name: `Spelling ${i}` }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(202));
    expect(await store().count()).toBe(1);
    expect((await store().byEmail("a@x.org"))?.id).toBe(subscriberId("A@X.ORG"));
    env.start([QUEUE.emails]);
    await eventually(() => smtp.messages.length >= 1, 10_000, "the confirmation");
    await env.drained(); // a second mail would be sent by a job still queued
    expect(smtp.messages).toHaveLength(1);
    // +tags are other subscriptions, but the same inbox: they share its hourly confirmation.
    expect((await subscribeFrom(100, { email: "a+news@x.org" })).statusCode).toBe(202);
    expect((await subscribeFrom(101, { email: "A+Other@X.org" })).statusCode).toBe(202);
    expect(await store().count()).toBe(3);
    expect(await rt.queues[QUEUE.emails].getJobCountByTypes("completed", "waiting", "active", "delayed")).toBe(1);
    await env.drained();
    expect(smtp.messages).toHaveLength(1);
    // An hour later the mailbox may get one more.
    env.clock.advance(3600_000 + 1);
    await Promise.all([subscribeFrom(102, { email: "a@x.org" }), subscribeFrom(103, { email: "A@X.ORG" })]);
    await eventually(() => smtp.messages.length === 2, 10_000, "the second hour's confirmation");
  });

  it("a name with a link is refused; an accepted name never reaches the confirmation (To: or greeting)", async () => {
    for (const name of [
      "Win at http://evil.example",
      "see www.evil.example",
      "evil.com",
      "mail me: x@evil.example",
      "bit.ly slash x",
      "evil\u3002com",
      "\u202eRight to left",
    ]) {
      const res = await subscribeFrom(200, { email: "victim@example.org", name });
      expect(res.statusCode, name).toBe(400);
      expect(res.body).toContain("name:");
    }
    expect(await store().count()).toBe(0);
    for (const name of ["J.R.R. Tolkien", "Dr. Ana María O'Neil-Šimić", "李小龍"])
      expect((await subscribeFrom(201, { email: `n${name.length}@example.org`, name })).statusCode, name).toBe(202);
    expect(
      (await subscribeFrom(202, { email: "victim@example.org", name: "Call 555 0100 to claim your prize" })).statusCode,
    ).toBe(202);
    env.start([QUEUE.emails]);
    await eventually(() => env.smtp.to("victim@example.org").length === 1, 10_000, "the confirmation");
    const m = env.smtp.to("victim@example.org")[0]!;
    expect(m.raw).not.toMatch(/prize/i);
    expect(m.parsed.to).toMatchObject({ value: [{ address: "victim@example.org", name: "" }] });
    expect(m.parsed.text).toMatch(/^Hello,/m);
  });

  it("a record stored before addresses were case-folded (under its legacy id) is still found", async () => {
    const { rt } = env;
    const old = {
      ...(await addReader(rt, { email: "old-seed@example.org" })),
      email: "Old.Reader@example.org",
      id: legacyId("Old.Reader@example.org"),
    };
    await store().save(old, null);
    expect(old.id).not.toBe(subscriberId("Old.Reader@example.org"));
    expect((await store().byEmail(" Old.Reader@EXAMPLE.org"))?.id).toBe(old.id);
    // Subscribing again with the spelling it was stored under updates it, no second record.
    const before = await store().count();
    expect((await subscribeFrom(300, { email: "Old.Reader@example.org" })).statusCode).toBe(202);
    expect(await store().count()).toBe(before);
    const { subscriber } = await new SubscriberService(rt).upsert(
      { email: "Old.Reader@example.org", frequency: "weekly" },
      { confirmed: true },
    );
    expect(subscriber).toMatchObject({ id: old.id, frequency: "weekly", status: "confirmed" });
    expect(await store().count()).toBe(before);
  });
});

describe("the confirm link", () => {
  const subscribeAndGetLink = async (email: string) => {
    const n = env.smtp.to(email).length;
    expect((await form("/subscribe", { email })).statusCode).toBe(202);
    await eventually(() => env.smtp.to(email).length === n + 1, 10_000, "the confirmation");
    return linkIn(env.smtp.to(email)[n]!.parsed.text ?? "", "confirm");
  };

  it("GET (a mail scanner, any number of times) confirms nobody; the page's button does", async () => {
    env.start([QUEUE.emails]);
    const link = await subscribeAndGetLink("scanned@example.org");
    const id = subscriberId("scanned@example.org");
    for (const headers of [
      {},
      { accept: "application/json" },
      { "user-agent": "Mozilla/5.0 (compatible; SafeLinks)" },
    ]) {
      expect((await app.inject({ url: link, headers })).statusCode).toBe(200);
    }
    expect((await app.inject({ method: "HEAD", url: link })).statusCode).toBe(200);
    expect((await store().get(id))?.status).toBe("pending");
    const page = await app.inject({ url: link });
    expect(page.body).toContain('<form method="post"');
    expect(page.body).toContain("Confirm my subscription");
    expect(page.body).not.toContain("Subscription confirmed");
    // The button: the token in the form body alone is enough, too.
    const token = decodeURIComponent(new URL(link, "http://x").searchParams.get("token")!);
    const ok = await form("/confirm", { token });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain("Subscription confirmed");
    expect((await store().get(id))?.status).toBe("confirmed");
    // Again: already confirmed, said so, nothing changes.
    const again = await app.inject({ method: "POST", url: link, headers: { accept: "application/json" } });
    expect(again.json()).toEqual({ ok: true, status: "already" });
  });

  it("the token in the address and in the form must agree; given twice it is a 400", async () => {
    const a = await addReader(env.rt, { email: "two@example.org" }, false);
    const t1 = signToken(TEST_SECRET, "confirm", a.id, env.clock.now() + 3600_000, env.clock.now());
    const t2 = signToken(
      TEST_SECRET,
      "confirm",
      subscriberId("other@example.org"),
      env.clock.now() + 3600_000,
      env.clock.now(),
    );
    const mixed = await form(`/confirm?token=${encodeURIComponent(t1)}`, { token: t2 });
    expect(mixed.statusCode).toBe(400);
    expect(mixed.body).toContain("two different tokens");
    const twice = await form("/confirm", { token: [t1, t1] });
    expect(twice.statusCode).toBe(400);
    const json = await app.inject({
      method: "POST",
      url: "/confirm",
      headers: { "content-type": "application/json" },
      payload: { token: t1 },
    });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toEqual({ ok: true, status: "confirmed" });
  });

  it("an old confirm link after an unsubscribe says so and confirms nobody, even once the address is typed in again", async () => {
    const { rt } = env;
    env.start([QUEUE.emails]);
    const link = await subscribeAndGetLink("leaver@example.org");
    const id = subscriberId("leaver@example.org");
    expect((await app.inject({ method: "POST", url: link })).statusCode).toBe(200);
    expect((await store().get(id))?.status).toBe("confirmed");
    env.clock.advance(60_000);
    const manage = signToken(TEST_SECRET, "manage", id);
    expect(
      (await app.inject({ method: "POST", url: `/unsubscribe?token=${encodeURIComponent(manage)}` })).statusCode,
    ).toBe(200);

    for (const method of ["GET", "POST"] as const) {
      const res = await app.inject({ method, url: link });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain("You are unsubscribed");
      expect(res.body).not.toMatch(/Subscription confirmed|<form method="post"/);
      expect((await store().get(id))?.status).toBe("unsubscribed");
    }
    expect((await app.inject({ method: "POST", url: link, headers: { accept: "application/json" } })).json()).toEqual({
      ok: false,
      status: "unsubscribed",
    });

    // Someone types the address in again (an hour later): pending, and the OLD link still
    // confirms nobody; the new email's link does.
    env.clock.advance(3600_000 + 1);
    const fresh = await subscribeAndGetLink("leaver@example.org");
    expect((await store().get(id))?.status).toBe("pending");
    const old = await app.inject({ method: "POST", url: link });
    expect(old.body).toContain("You are unsubscribed");
    expect((await store().get(id))?.status).toBe("pending");
    expect((await app.inject({ method: "POST", url: fresh })).body).toContain("Subscription confirmed");
    expect((await store().get(id))?.status).toBe("confirmed");
    expect(await rt.queues[QUEUE.emails].getFailedCount()).toBe(0);
  });
});

describe("subscribing again after an unsubscribe", () => {
  it("the new email's link confirms, even within the same millisecond as the unsubscribe (fixed clock)", async () => {
    env.start([QUEUE.emails]);
    const r = await addReader(env.rt, { email: "back@example.org" }); // confirmed by ops: no email
    const manage = encodeURIComponent(signToken(TEST_SECRET, "manage", r.id));
    expect((await app.inject({ method: "POST", url: `/unsubscribe?token=${manage}` })).statusCode).toBe(200);
    expect((await form("/subscribe", { email: "Back@Example.org" })).statusCode).toBe(202);
    await eventually(() => env.smtp.to("back@example.org").length === 1, 10_000, "the confirmation");
    const link = linkIn(env.smtp.to("back@example.org")[0]!.parsed.text ?? "", "confirm");
    expect((await store().get(r.id))?.status).toBe("pending");
    expect((await app.inject({ method: "POST", url: link })).body).toContain("Subscription confirmed");
    expect((await store().get(r.id))?.status).toBe("confirmed");
  });
});

describe("a query parameter given twice", () => {
  it("is a 400 with a reason on every page and API route that reads the query, never a 500", async () => {
    const r = await addReader(env.rt, { email: "q@example.org" });
    const m = encodeURIComponent(signToken(TEST_SECRET, "manage", r.id));
    const c = encodeURIComponent(signToken(TEST_SECRET, "confirm", r.id, env.clock.now() + 3600_000));
    const urls: [string, string][] = [
      ["GET", `/confirm?token=${c}&token=${c}`],
      ["POST", `/confirm?token=${c}&token=x`],
      ["GET", `/unsubscribe?token=${m}&token=${m}`],
      ["POST", `/unsubscribe?token=a&token=b`],
      ["GET", `/preferences?token=${m}&token=b`],
      ["POST", `/preferences?token=${m}&token=${m}`],
      ["GET", "/subscribe?lang=fr&lang=es"],
      ["POST", "/subscribe?lang=fr&lang=es"],
      ["GET", `/unsubscribe?token=${m}&lang=fr&lang=fr`],
    ];
    for (const [method, url] of urls) {
      const html = await app.inject({
        method: method as "GET",
        url,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: method === "POST" ? "email=q%40example.org" : undefined,
      });
      expect(html.statusCode, `${method} ${url}`).toBe(400);
      expect(html.body).toMatch(/given 2 times/);
      expect(html.headers["content-type"]).toMatch(/text\/html/);
      const json = await app.inject({ method: method as "GET", url, headers: { accept: "application/json" } });
      expect(json.statusCode).toBe(400);
      expect(json.json()).toMatchObject({
        error: expect.stringMatching(/query parameter "(token|lang)" is given 2 times/),
        issues: [{ path: expect.stringMatching(/^query\./) }],
      });
    }
    expect((await store().get(r.id))?.status).toBe("confirmed");
    const put = await app.inject({
      method: "PUT",
      url: "/api/releases/some-release?note=a&note=b",
      headers: auth,
      payload: { title: "T", body: "B" },
    });
    expect(put.statusCode).toBe(400);
    expect(put.json().error).toMatch(/"note" is given 2 times/);
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
    const click = await app.inject({
      method: "POST",
      url,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "List-Unsubscribe=One-Click",
    });
    expect(click.statusCode).toBe(200);
    expect(click.headers.location).toBeUndefined();
    expect((await store().get(s.id))?.status).toBe("unsubscribed");
    env.start([QUEUE.emails]);
    await eventually(
      async () => (await rt.queues[QUEUE.emails].getJobCounts("completed")).completed === 3,
      10_000,
      "the queued batch to run",
    );
    expect(smtp.messages).toHaveLength(2);
    // Clicking again is fine.
    expect((await app.inject({ method: "POST", url })).statusCode).toBe(200);
  });
});

describe("one-click unsubscribe with multipart/form-data (RFC 8058 allows it)", () => {
  it("answers 200 and unsubscribes; a bad or oversized body is refused and changes nothing", async () => {
    const { rt, smtp } = env;
    const s = await addReader(rt, { email: "multi@example.org", frequency: "immediate" });
    env.start([QUEUE.emails]);
    await new ReleaseService(rt).publish(sampleRelease({ id: "mp1" }));
    await runAlert(rt, { releaseId: "mp1", revision: 1, event: "published" });
    await eventually(() => smtp.to("multi@example.org").length === 1, 10_000, "the alert");
    const url = linkIn(smtp.to("multi@example.org")[0]!.parsed.text ?? "", "unsubscribe");
    // The body exactly as a real client (undici's FormData) encodes it.
    const encode = async (fields: [string, string][]) => {
      const form = new FormData();
      for (const [k, v] of fields) form.append(k, v);
      const req = new Request("http://localhost/", { method: "POST", body: form });
      return { payload: Buffer.from(await req.arrayBuffer()), contentType: req.headers.get("content-type")! };
    };
    const post = (payload: Buffer | string, contentType: string) =>
      app.inject({ method: "POST", url, headers: { "content-type": contentType }, payload });

    // Refused with a 400 that says why, and the reader stays subscribed.
    const good = await encode([["List-Unsubscribe", "One-Click"]]);
    const noBoundary = await post(good.payload, "multipart/form-data");
    expect(noBoundary.statusCode).toBe(400);
    expect(noBoundary.body).toMatch(/boundary/);
    const latin1 = Buffer.from(good.payload.toString("latin1").replace("One-Click", "Jos\u00e9"), "latin1");
    const notUtf8 = await post(latin1, good.contentType);
    expect(notUtf8.statusCode).toBe(400);
    expect(notUtf8.body).toMatch(/not valid UTF-8/);
    const unclosed = await post(good.payload.subarray(0, good.payload.length - 20), good.contentType);
    expect(unclosed.statusCode).toBe(400);
    const huge = await encode([
      ["List-Unsubscribe", "One-Click"],
      ["pad", "x".repeat(70 * 1024)],
    ]);
    expect((await post(huge.payload, huge.contentType)).statusCode).toBe(413);
    expect((await store().get(s.id))?.status).toBe("confirmed");

    const click = await post(good.payload, good.contentType);
    expect(click.statusCode).toBe(200);
    expect(click.headers.location).toBeUndefined();
    expect((await store().get(s.id))?.status).toBe("unsubscribed");
  });

  it("a multipart subscribe form is read like the urlencoded one (a file part is ignored)", async () => {
    const { rt } = env;
    const form = new FormData();
    form.append("email", "form-data@example.org");
    form.append("name", "Zoë");
    form.append("language", "fr");
    form.append("upload", new Blob(["not a field"]), "notes.txt");
    const req = new Request("http://localhost/", { method: "POST", body: form });
    const res = await app.inject({
      method: "POST",
      url: "/subscribe",
      headers: { "content-type": req.headers.get("content-type")! },
      payload: Buffer.from(await req.arrayBuffer()),
    });
    expect(res.statusCode).toBe(202);
    expect(await new SubscriberService(rt).store.byEmail("form-data@example.org")).toMatchObject({
      name: "Zoë",
      language: "fr",
      status: "pending",
    });
  });
});

describe("ops API", () => {
  it("adds subscribers and queues digest runs, behind the bearer token", async () => {
    expect(
      (await app.inject({ method: "POST", url: "/api/subscribers", payload: { email: "a@example.org" } })).statusCode,
    ).toBe(401);
    const add = await app.inject({
      method: "POST",
      url: "/api/subscribers",
      headers: auth,
      payload: { email: "a@Example.org", frequency: "weekly", confirmed: true },
    });
    expect(add.statusCode).toBe(201);
    expect(add.json()).toMatchObject({ email: "a@example.org", status: "confirmed", frequency: "weekly" });
    const again = await app.inject({
      method: "POST",
      url: "/api/subscribers",
      headers: auth,
      payload: { email: "a@example.org", frequency: "daily" },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: "confirmed", frequency: "daily" });
    const bad = await app.inject({
      method: "POST",
      url: "/api/subscribers",
      headers: auth,
      payload: { email: "nope" },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].path).toBe("email");

    expect((await app.inject({ method: "POST", url: "/api/digests/daily/run" })).statusCode).toBe(401);
    expect((await app.inject({ method: "POST", url: "/api/digests/hourly/run", headers: auth })).statusCode).toBe(400);
    const run = await app.inject({
      method: "POST",
      url: "/api/digests/daily/run",
      headers: auth,
      payload: { dryRun: true },
    });
    expect(run.statusCode).toBe(202);
    const job = await env.rt.queues[QUEUE.digests].getJob(run.json().jobId);
    expect(job?.name).toBe("run");
    expect(job?.data).toMatchObject({ frequency: "daily", dryRun: true });
  });
});
