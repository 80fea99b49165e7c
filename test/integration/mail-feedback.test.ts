// Bounce reports and complaints that come back by mail, about messages Herald really sent
// through the test SMTP server: `herald mail feedback` (stdin, as an MTA pipes it) and
// POST /api/mail/feedback suppress the readers they name; the next release skips them.
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.ts";
import { readStats } from "../../src/metrics.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { runCli } from "../helpers/cli.ts";
import { auth, TEST_TOKEN } from "../helpers/http.ts";
import { addReader, type MailEnv, mailEnv, TEST_SECRET } from "../helpers/mail.ts";
import { arf, dsn } from "../helpers/reports.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, redisUrl } from "../helpers/runtime.ts";

let env: MailEnv;
let app: FastifyInstance;
let cliEnv: Record<string, string>;
beforeEach(async () => {
  env = await mailEnv({ label: "feedback" });
  app = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
  await app.ready();
  cliEnv = {
    REDIS_URL: redisUrl(),
    HERALD_PREFIX: env.rt.config.prefix,
    SECRET_KEY: TEST_SECRET,
    MAIL_FROM: env.rt.config.mailFrom,
    VAR_DIR: "/tmp",
  };
});
afterEach(async () => {
  await app.close();
  await env.stop();
});

const statusOf = async (email: string) => (await new SubscriberService(env.rt).store.byEmail(email))?.status;
const postReport = (payload: string | Buffer, contentType = "message/rfc822", headers = auth) =>
  app.inject({
    method: "POST",
    url: "/api/mail/feedback",
    headers: { ...headers, "content-type": contentType },
    payload,
  });

describe("delivery feedback by mail", { timeout: 60_000 }, () => {
  it("a bounce report (CLI, stdin) and a complaint (API) suppress their readers; the next release skips them", async () => {
    const { rt, smtp } = env;
    for (const email of ["Ana@example.net", "bo@example.net", "cy@example.net"])
      await addReader(rt, { email, frequency: "immediate" });
    env.start();
    await new ReleaseService(rt).publish(sampleRelease({ id: "first", title: "First release" }));
    await eventually(() => smtp.messages.length === 3, 10_000, "three alerts");
    const sentTo = (address: string) => smtp.messages.find((m) => m.to.includes(address))!.raw;

    // Ana's mailbox is gone: her provider's MTA sends a DSN, which the bounce mailbox pipes in.
    const bounce = dsn(
      [
        {
          final: "ana@example.net",
          original: "Ana@example.net",
          action: "failed",
          status: "5.1.1",
          diagnostic: "550 5.1.1 User unknown",
        },
      ],
      sentTo("Ana@example.net"),
    );
    const cli = await runCli(["mail", "feedback"], cliEnv, { input: bounce });
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(cli.stdout).toBe("bounced Ana@example.net (5.1.1: smtp; 550 5.1.1 User unknown)\n");
    expect(await statusOf("Ana@example.net")).toBe("bounced");
    expect((await new SubscriberService(rt).store.byEmail("Ana@example.net"))!.suppressedReason).toBe(
      "bounce report: 5.1.1: smtp; 550 5.1.1 User unknown",
    );

    // Bo pressed "spam": the feedback loop redacts his address, our Message-ID names him.
    const returned = sentTo("bo@example.net").replace(/^To: .*$/m, "To: [redacted]");
    const complaint = arf(returned);
    const res = await postReport(complaint);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      report: "feedback-report",
      outcomes: [{ kind: "complaint", email: "bo@example.net", outcome: "complained", status: "complained" }],
    });
    expect(await statusOf("bo@example.net")).toBe("complained");
    // The same report again changes nothing.
    expect((await postReport(complaint)).json().outcomes[0].outcome).toBe("unchanged");

    // Cy's server is only slow: reported, nothing changes.
    const slow = dsn(
      [{ final: "cy@example.net", action: "delayed", status: "4.4.1", diagnostic: "451 4.4.1 try again later" }],
      sentTo("cy@example.net"),
      { headersOnly: true },
    );
    const delayed = await runCli(["mail", "feedback", "-"], cliEnv, { input: slow });
    expect(delayed.stdout).toBe(
      "ignored cy@example.net: delay (4.4.1: smtp; 451 4.4.1 try again later); still confirmed\n",
    );
    expect(await statusOf("cy@example.net")).toBe("confirmed");

    const stats = await readStats(rt);
    expect(stats.find((s) => s.name === "herald_emails_bounced_total")?.value).toBe(1);
    expect(stats.find((s) => s.name === "herald_emails_complained_total")?.value).toBe(1);

    await new ReleaseService(rt).publish(sampleRelease({ id: "second", title: "Second release" }));
    await eventually(() => smtp.to("cy@example.net").length === 2, 10_000, "the second alert");
    await env.drained();
    expect(smtp.to("Ana@example.net")).toHaveLength(1);
    expect(smtp.to("bo@example.net")).toHaveLength(1);
  });

  it("unknown readers and auto-replies change nothing; JSON output for scripts", async () => {
    await addReader(env.rt, { email: "dee@example.net", frequency: "daily" });
    const stranger = dsn(
      [{ final: "nobody@example.net", action: "failed", status: "5.1.1" }],
      "From: someone@example.org\r\nSubject: x\r\n\r\nx",
    );
    const r = await runCli(["mail", "feedback", "--json"], cliEnv, { input: stranger });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      report: "delivery-status",
      outcomes: [{ kind: "bounce", email: "nobody@example.net", detail: "5.1.1", outcome: "unknown" }],
    });
    const ooo = "From: dee@example.net\r\nTo: news@iom.example\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n";
    const auto = await runCli(["mail", "feedback"], cliEnv, { input: ooo });
    expect(auto.code).toBe(0);
    expect(auto.stdout).toMatch(/^ignored: not a bounce report or complaint/);
    expect((await postReport(ooo)).json()).toEqual({ report: "none", outcomes: [] });
    expect(await statusOf("dee@example.net")).toBe("confirmed");
  });

  it.each([
    [["mail", "feedback"], "", /not a mail message \(it is empty\)/],
    [["mail", "feedback"], "no headers here\n", /not a mail message \(it has no header fields\)/],
    [["mail", "feedback", "/no/such.eml"], undefined, /cannot read \/no\/such\.eml: no such file/],
    [["mail", "feedback", "/tmp"], undefined, /\/tmp is not a file/],
    [["mail", "feedback", "-"], Buffer.alloc(5 * 1024 * 1024 + 10, 0x61), /standard input is larger than 5 MiB/],
  ])("herald %j refuses bad input with one line and exit 1", async (args, input, reason) => {
    const r = await runCli(args, cliEnv, input === undefined ? {} : { input });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(reason);
  });

  it("the API answers 401 without the token, 415 for other content types, 400 for what is not a message, 413 over 1 MiB", async () => {
    const report = dsn([{ final: "x@example.net", action: "failed", status: "5.1.1" }], "From: a@b\r\n\r\nx");
    expect((await postReport(report, "message/rfc822", {} as typeof auth)).statusCode).toBe(401);
    const json = await postReport(JSON.stringify({ report }), "application/json");
    expect(json.statusCode).toBe(415);
    expect(json.json().error).toMatch(/content-type: message\/rfc822 \(got application\/json\)/);
    const other = await postReport("<x/>", "application/xml");
    expect(other.statusCode).toBe(415);
    expect(other.json().error).toBeTruthy();
    const empty = await postReport("", "message/rfc822");
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error).toMatch(/not a mail message/);
    const huge = await postReport(Buffer.alloc(1024 * 1024 + 10, 0x61), "text/plain");
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toMatch(/1 MiB/);
  });
});
