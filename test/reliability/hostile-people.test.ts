// Hostile input from readers and reader lists: the /subscribe form (form and JSON posts),
// signed links (forged, tampered, expired, for another purpose, for a removed reader), CSV
// imports (CR/LF and script in cells, a huge line, a file too big) and a burst of 1,000
// subscribe requests. Each is refused with a reason and changes nothing, or is stored clean;
// no page or email Herald produces from it carries script the input put there.
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { closeMailer } from "../../src/mail/transport.ts";
import { readSubscriberCsv } from "../../src/subscribers/csv.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { subscriberId } from "../../src/subscribers/store.ts";
import { signToken } from "../../src/subscribers/tokens.ts";
import { runCli } from "../helpers/cli.ts";
import { TEST_TOKEN } from "../helpers/http.ts";
import { addReader, type MailEnv, mailEnv, TEST_SECRET } from "../helpers/mail.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { activeContent } from "./no-script.ts";
import { type SmtpSink, startSmtpSink } from "./smtp-sink.ts";

const SCRIPT = `<script>alert("xss")</script>`;

describe("hostile input: forms, links and CSV", () => {
  let env: MailEnv;
  let app: FastifyInstance;
  let dir: string;
  beforeAll(async () => {
    // Clients are told apart by X-Forwarded-For, as behind a proxy on loopback (inject's peer).
    env = await mailEnv({ label: "hpeople", config: { trustProxy: ["127.0.0.1"] } });
    app = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
    await app.ready();
    env.start([QUEUE.emails]);
    dir = mkdtempSync(path.join(tmpdir(), "herald-hpeople-"));
  });
  afterAll(async () => {
    await app?.close();
    await env?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const service = () => new SubscriberService(env.rt);
  // Each request from its own client address: /subscribe is rate limited per client.
  let client = 0;
  const from = () => ({ "x-forwarded-for": `10.1.${Math.floor(client / 250)}.${client++ % 250}` });
  const form = (url: string, fields: Record<string, string>) =>
    app.inject({
      method: "POST",
      url,
      headers: { "content-type": "application/x-www-form-urlencoded", ...from() },
      payload: new URLSearchParams(fields).toString(),
    });
  const state = async () => ({
    subscribers: await service().store.count(),
    queued: await env.rt.queues[QUEUE.emails].count(),
    mails: env.smtp.messages.length,
  });

  const refusedForms: [string, Record<string, string> | Buffer, RegExp][] = [
    [
      "script in the name",
      { email: "a1@example.org", name: `Ana ${SCRIPT}` },
      /name: must be one line, without &lt; &gt;/,
    ],
    ["img onerror in the name", { email: "a2@example.org", name: `Ana"><img src=x onerror=alert(1)>` }, /name/],
    [
      "CR/LF in the name (header injection)",
      { email: "a3@example.org", name: "Ana\r\nBcc: everyone@example.org" },
      /name/,
    ],
    [
      "CR/LF in the email (header injection)",
      { email: "a4@example.org\r\nBcc: everyone@example.org", name: "Ana" },
      /email/,
    ],
    ["script as the email", { email: `${SCRIPT}@example.org` }, /email/],
    ["overlong name", { email: "a5@example.org", name: "x".repeat(101) }, /name: at most 100/],
    ["overlong email", { email: `${"x".repeat(250)}@example.org` }, /email: at most 254/],
    ["script as a topic", { email: "a6@example.org", topics: SCRIPT }, /topics/],
    ["path as a time zone", { email: "a7@example.org", timezone: "../../../etc/passwd" }, /timezone/],
    ["unknown language", { email: "a8@example.org", language: "xx" }, /language: one of en, fr, es/],
  ];

  it.each(refusedForms)("/subscribe with %s: 400 with a reason, nothing stored or sent", async (_n, fields, reason) => {
    const before = await state();
    const res = await form("/subscribe", fields as Record<string, string>);
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(reason);
    expect(activeContent(res.body).filter((a) => a !== "<script>")).toEqual([]); // the page's own timezone script aside
    expect(res.body).not.toContain("alert(");
    const json = await app.inject({
      method: "POST",
      url: "/subscribe",
      headers: { "content-type": "application/json", ...from() },
      payload: JSON.stringify(fields),
    });
    expect(json.statusCode).toBe(400);
    expect(json.json().error).toBeTruthy();
    expect(await state()).toEqual(before);
  });

  it("/subscribe with invalid UTF-8 in a JSON body: 400, nothing stored", async () => {
    const before = await state();
    const res = await app.inject({
      method: "POST",
      url: "/subscribe",
      headers: { "content-type": "application/json", ...from() },
      payload: Buffer.concat([
        Buffer.from('{"email":"u8@example.org","name":"A'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from('"}'),
      ]),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/UTF-8/);
    expect(await state()).toEqual(before);
  });

  it("/subscribe with invalid UTF-8 in a form body (raw or %-escaped) or a broken escape: 400, nothing stored", async () => {
    const before = await state();
    const bodies = [
      Buffer.concat([Buffer.from("email=u8f%40example.org&name=A"), Buffer.from([0xc3, 0x28, 0xff])]), // raw Latin-1-ish bytes
      Buffer.from("email=u8g%40example.org&name=Jos%E9"), // "José" escaped from Latin-1
      Buffer.from("email=u8h%40example.org&name=A%C3%28"), // a broken UTF-8 sequence
      Buffer.from("email=u8i%40example.org&name=100%zz"), // not an escape
    ];
    for (const payload of bodies) {
      const html = await app.inject({
        method: "POST",
        url: "/subscribe",
        headers: { "content-type": "application/x-www-form-urlencoded", ...from() },
        payload,
      });
      expect(html.statusCode, payload.toString("latin1")).toBe(400);
      expect(html.headers["content-type"]).toMatch(/text\/html/);
      expect(html.body).toMatch(/not valid UTF-8/);
      const json = await app.inject({
        method: "POST",
        url: "/subscribe",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", ...from() },
        payload,
      });
      expect(json.statusCode).toBe(400);
      expect(json.json().error).toMatch(/not valid UTF-8/);
    }
    expect(await state()).toEqual(before);
  });

  it("a form in UTF-8 with accents, + for spaces and repeated checkboxes is read as sent", async () => {
    const payload =
      "email=jose.u8%40example.org&name=Jos%C3%A9+Mar%C3%ADa+%E2%80%94+%D8%B9%D9%84%D9%8A&topics=health&topics=shelter&language=es";
    const res = await app.inject({
      method: "POST",
      url: "/subscribe",
      headers: { "content-type": "application/x-www-form-urlencoded", ...from() },
      payload,
    });
    expect(res.statusCode).toBe(202);
    const s = (await service().store.get(subscriberId("jose.u8@example.org")))!;
    expect(s).toMatchObject({ name: "José María — علي", topics: ["health", "shelter"], language: "es" });
  });

  it("a name with quotes and a handler but no < >: stored, escaped everywhere, one confirmation with no script", async () => {
    const name = `Ana" onmouseover="alert(1)" x='`;
    const res = await form("/subscribe", { email: "quotes@example.org", name });
    expect(res.statusCode).toBe(202);
    await eventually(() => env.smtp.to("quotes@example.org").length === 1, 10_000, "the confirmation");
    const mail = env.smtp.to("quotes@example.org")[0]!;
    expect(activeContent(String(mail.parsed.html))).toEqual([]);
    expect(mail.raw).not.toMatch(/^(bcc|x-injected):/im);
    // The preferences page shows the name in an attribute: escaped, no handler.
    const s = (await service().store.byEmail("quotes@example.org"))!;
    const token = encodeURIComponent(signToken(TEST_SECRET, "manage", s.id));
    const page = await app.inject(`/preferences?token=${token}`);
    expect(page.statusCode).toBe(200);
    expect(activeContent(page.body)).toEqual([]);
  });

  describe("signed links", () => {
    let a: Awaited<ReturnType<typeof addReader>>;
    let b: Awaited<ReturnType<typeof addReader>>;
    beforeAll(async () => {
      a = await addReader(env.rt, { email: "reader-a@example.org", name: "A" });
      b = await addReader(env.rt, { email: "reader-b@example.org", name: "B" });
    });
    const tamper = (token: string, id: string) => {
      const [body, sig] = token.split(".");
      const payload = JSON.parse(Buffer.from(body!, "base64url").toString("utf8"));
      return `${Buffer.from(JSON.stringify({ ...payload, s: id })).toString("base64url")}.${sig}`;
    };
    const cases: [string, () => string, "GET" | "POST", string, number, RegExp][] = [
      ["no token", () => "", "POST", "/unsubscribe", 400, /incomplete/],
      [
        "a forged token",
        () => "eyJwIjoibSIsInMiOiJ4In0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "POST",
        "/unsubscribe",
        400,
        /not valid/,
      ],
      [
        "reader A's token edited to reader B",
        () => tamper(signToken(TEST_SECRET, "manage", a.id), b.id),
        "POST",
        "/unsubscribe",
        400,
        /not valid/,
      ],
      [
        "a token signed with another key",
        () => signToken("another-secret-key-0123456789abcdef0123", "manage", b.id),
        "POST",
        "/preferences",
        400,
        /not valid/,
      ],
      [
        "a confirmation token used to unsubscribe",
        () => signToken(TEST_SECRET, "confirm", b.id, env.clock.now() + 3600_000),
        "POST",
        "/unsubscribe",
        400,
        /not valid here/,
      ],
      [
        "a manage token used to confirm",
        () => signToken(TEST_SECRET, "manage", b.id),
        "GET",
        "/confirm",
        400,
        /not valid here/,
      ],
      [
        "an expired confirmation token",
        () => signToken(TEST_SECRET, "confirm", b.id, env.clock.now() - 1),
        "GET",
        "/confirm",
        400,
        /expired/,
      ],
      [
        "a token for a removed reader",
        () => signToken(TEST_SECRET, "manage", subscriberId("gone@example.org")),
        "POST",
        "/unsubscribe",
        404,
        /no longer exists/,
      ],
      ["script in the token", () => `${SCRIPT}.x`, "GET", "/preferences", 400, /not valid/],
    ];
    it.each(cases)("%s: refused, nothing changes", async (_n, token, method, url, status, reason) => {
      const before = [await service().store.get(a.id), await service().store.get(b.id)];
      const res = await app.inject({
        method,
        url: `${url}?token=${encodeURIComponent(token())}`,
        headers: { accept: "text/html" },
      });
      expect(res.statusCode).toBe(status);
      expect(res.body).toMatch(reason);
      expect(activeContent(res.body)).toEqual([]);
      expect([await service().store.get(a.id), await service().store.get(b.id)]).toEqual(before);
    });

    it("a valid unsubscribe link opened with GET (a link scanner) changes nothing", async () => {
      const token = encodeURIComponent(signToken(TEST_SECRET, "manage", b.id));
      expect((await app.inject(`/unsubscribe?token=${token}`)).statusCode).toBe(200);
      expect((await service().store.get(b.id))!.status).toBe("confirmed");
    });
  });

  describe("CSV import", () => {
    const header = "email,name,language,frequency,topics,regions,timezone";
    it.each([
      [
        "CR/LF in a quoted name",
        `ok1@example.org,Ok,en,daily,,,\n"crlf@example.org","Ana\r\nBcc: x@example.org",en,daily,,,`,
        3,
        /name: must be one line/,
      ],
      [
        "script in a name",
        `ok1@example.org,Ok,en,daily,,,\nscript@example.org,${SCRIPT},en,daily,,,`,
        3,
        /name: must be one line/,
      ],
      [
        "CR/LF in an email",
        `ok1@example.org,Ok,en,daily,,,\n"evil@example.org\nBcc: x@example.org",Eve,en,daily,,,`,
        3,
        /email/,
      ],
      [
        "too many cells",
        `ok1@example.org,Ok,en,daily,,,\nx@example.org,X,en,daily,,,,,,,,`,
        3,
        /fields, the header has 7/,
      ],
      ["a topic with script", `ok1@example.org,Ok,en,daily,,,\nt@example.org,T,en,daily,${SCRIPT},,`, 3, /topics/],
    ] as const)("%s: that row refused with its line number, the good row kept", async (_n, body, line, reason) => {
      const { rows, errors } = await readSubscriberCsv(`${header}\n${body}\n`);
      expect(rows.map((r) => r.input.email)).toEqual(["ok1@example.org"]);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.line).toBe(line);
      expect(errors[0]!.reason).toMatch(reason);
    });

    it("a 5 MB single cell is one refused row, read in linear time (no hang)", async () => {
      const { rows, errors } = await readSubscriberCsv(
        `${header}\nbig@example.org,"${"x".repeat(5 * 1024 * 1024)}",en,daily,,,\nok2@example.org,Ok,en,daily,,,\n`,
      );
      expect(rows.map((r) => r.input.email)).toEqual(["ok2@example.org"]);
      expect(errors[0]!.reason).toMatch(/name: at most 100/);
    });

    it("herald subscribers import: a file over the limit and a binary file exit non-zero with a reason; a hostile CSV imports only its good rows", {
      timeout: 90_000,
    }, async () => {
      const env2 = {
        REDIS_URL: env.rt.redisUrl,
        HERALD_PREFIX: env.rt.config.prefix,
        VAR_DIR: dir,
        SECRET_KEY: TEST_SECRET,
      };
      const huge = path.join(dir, "huge.csv");
      writeFileSync(huge, `${header}\n`);
      truncateSync(huge, 201 * 1024 * 1024); // sparse: no disk used
      const binary = path.join(dir, "binary.csv");
      writeFileSync(binary, Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0xff, 0xfe, 0, 1, 2]));
      const hostile = path.join(dir, "hostile.csv");
      writeFileSync(
        hostile,
        `${header}\ncsv-ok@example.org,Ok,en,daily,,,\n"csv-crlf@example.org","A\r\nBcc: x@example.org",en,daily,,,\ncsv-script@example.org,${SCRIPT},en,daily,,,\n`,
      );
      const before = await service().store.count();
      const [h, bin, host] = await Promise.all([
        runCli(["subscribers", "import", huge], env2, { timeoutMs: 80_000 }),
        runCli(["subscribers", "import", binary], env2, { timeoutMs: 80_000 }),
        runCli(["subscribers", "import", hostile], env2, { timeoutMs: 80_000 }),
      ]);
      expect(h.code).not.toBe(0);
      expect(h.stderr).toMatch(/MiB/);
      expect(bin.code).not.toBe(0);
      expect(bin.stderr).toMatch(/binary|text/i);
      expect(host.code, host.stderr).toBe(2); // imported, with bad rows reported
      expect(host.stderr).toMatch(/hostile\.csv:3: .*name/);
      expect(host.stderr).toMatch(/hostile\.csv:5: .*name/);
      expect(await service().store.count()).toBe(before + 1);
      expect(await service().store.byEmail("csv-ok@example.org")).toBeTruthy();
    });

    it("herald subscribers import: a file that is not UTF-8 exits 1 with one line naming the line, and nothing of it is stored", {
      timeout: 90_000,
    }, async () => {
      const env2 = {
        REDIS_URL: env.rt.redisUrl,
        HERALD_PREFIX: env.rt.config.prefix,
        VAR_DIR: dir,
        SECRET_KEY: TEST_SECRET,
      };
      const latin1 = path.join(dir, "latin1.csv");
      // Good rows before and after the bad one: none of them may be imported.
      writeFileSync(
        latin1,
        Buffer.concat([
          Buffer.from(`${header}\nenc-ok@example.org,Ok,en,daily,,,\nenc-jose@example.org,Jos`),
          Buffer.from([0xe9]),
          Buffer.from(`,fr,daily,,,\nenc-after@example.org,After,en,daily,,,\n`),
        ]),
      );
      const before = await service().store.count();
      const r = await runCli(["subscribers", "import", latin1], env2, { timeoutMs: 80_000 });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/latin1\.csv: the CSV is not valid UTF-8: line 3, byte 25 \(e9 2c 66 72\)/);
      expect(r.stdout).not.toMatch(/imported/);
      expect(await service().store.count()).toBe(before);
      for (const e of ["enc-ok@example.org", "enc-jose@example.org", "enc-after@example.org"])
        expect(await service().store.byEmail(e)).toBeNull();
      // The same file saved as UTF-8 imports, with the é intact (no U+FFFD).
      writeFileSync(latin1, `${header}\nenc-ok@example.org,Ok,en,daily,,,\nenc-jose@example.org,José,fr,daily,,,\n`);
      const ok = await runCli(["subscribers", "import", latin1], env2, { timeoutMs: 80_000 });
      expect(ok.code, ok.stderr).toBe(0);
      expect((await service().store.byEmail("enc-jose@example.org"))?.name).toBe("José");
    });
  });
});

describe("a burst of 1,000 subscribe requests", { timeout: 90_000 }, () => {
  let rt: TestRuntime;
  let smtp: SmtpSink;
  let app: FastifyInstance;
  let workers: Workers;
  afterAll(async () => {
    await app?.close();
    await workers?.close(true);
    if (rt) closeMailer(rt);
    await smtp?.close();
    await rt?.destroy();
  });

  it("is rate-limited per client without errors, and every accepted address gets exactly one confirmation", async () => {
    smtp = await startSmtpSink();
    rt = await testRuntime({
      label: "burst",
      config: { smtpUrl: smtp.url, secretKey: TEST_SECRET, emailRatePerSecond: 100_000, trustProxy: ["127.0.0.1"] },
    });
    app = await buildApp(rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
    await app.ready();
    workers = startWorkers(rt, [QUEUE.emails]);

    // 50 clients send 14 each (over the limit of 10 a minute), 300 send one; 800 addresses,
    // 200 of them sent twice (from different clients).
    const requests: { ip: string; email: string }[] = [];
    for (let c = 0; c < 50; c++)
      for (let k = 0; k < 14; k++) requests.push({ ip: `198.51.100.${c}`, email: `burst${c * 14 + k}@example.org` });
    for (let c = 0; c < 300; c++)
      requests.push({
        ip: `10.2.${Math.floor(c / 250)}.${c % 250}`,
        email: c < 200 ? `burst${c}@example.org` : `burst${700 + c - 200}@example.org`,
      });
    const answers = await Promise.all(
      requests.map((r) =>
        app.inject({
          method: "POST",
          url: "/subscribe",
          headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": r.ip },
          payload: new URLSearchParams({ email: r.email, name: "Burst" }).toString(),
        }),
      ),
    );
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.statusCode, (byStatus.get(a.statusCode) ?? 0) + 1);
    const accepted = new Set(requests.filter((_, i) => answers[i]!.statusCode === 202).map((r) => r.email));
    console.info(
      `burst: ${requests.length} requests, answers ${JSON.stringify(Object.fromEntries(byStatus))}, ${accepted.size} addresses accepted`,
    );
    expect([...byStatus.keys()].sort()).toEqual([202, 429]);
    expect(byStatus.get(429)).toBeGreaterThan(0);
    for (const a of answers.filter((x) => x.statusCode === 429)) expect(a.headers["retry-after"]).toBeTruthy();

    // Exactly the accepted addresses are stored, each gets one confirmation.
    const store = new SubscriberService(rt).store;
    expect(await store.count()).toBe(accepted.size);
    await eventually(() => [...accepted].every((e) => smtp.count(e) > 0), 60_000, `${accepted.size} confirmations`);
    await eventually(async () => (await rt.queues[QUEUE.emails].count()) === 0, 30_000, "the emails queue to drain");
    expect([...accepted].filter((e) => smtp.count(e) !== 1)).toEqual([]);
    expect(smtp.messages).toHaveLength(accepted.size);
    expect(await rt.queues[QUEUE.emails].getFailedCount()).toBe(0);
  });
});
