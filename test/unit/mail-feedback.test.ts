// Reading bounce reports and complaints (mail/feedback.ts, on mailparser), without Redis.
import { describe, expect, it } from "vitest";
import { HeraldError } from "../../src/errors.ts";
import { MAX_FEEDBACK_BYTES, readFeedback } from "../../src/mail/feedback.ts";
import { messageIdFor, readerOfMessageId } from "../../src/mail/message.ts";
import { subscriberId } from "../../src/subscribers/store.ts";
import { arf, dsn, sentMessage } from "../helpers/reports.ts";

const OURS = "iom.example";
const ID = "s0123456789abcdef0123";
const sent = (to = "Ana <Ana@Example.net>") => sentMessage(to, `<alert-health-2026-11-28.${ID}@iom.example>`);
const read = (s: string) => readFeedback(Buffer.from(s, "latin1"), OURS);

async function refusal(fn: () => unknown): Promise<HeraldError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof HeraldError) return err;
    throw err;
  }
  throw new Error("no error");
}

describe("bounce reports (RFC 3464)", () => {
  it("a permanent failure is a bounce for the address, with the reader from our Message-ID", async () => {
    const fb = await read(
      dsn(
        [
          {
            final: "ana@example.net",
            original: "Ana@Example.NET",
            action: "failed",
            status: "5.1.1",
            diagnostic: "550 5.1.1 User unknown",
          },
        ],
        sent(),
      ),
    );
    expect(fb).toEqual({
      report: "delivery-status",
      // Original-Recipient (the address as Herald gave it) wins; the domain is lower-cased, as subscribers are keyed.
      entries: [
        { kind: "bounce", email: "Ana@example.net", subscriberId: ID, detail: "5.1.1: smtp; 550 5.1.1 User unknown" },
      ],
    });
  });

  it("reads one entry per recipient: failed, delayed, delivered, and failed with a 4.x.x status (transient)", async () => {
    const fb = await read(
      dsn(
        [
          { final: "a@example.net", action: "failed", status: "5.2.1" },
          { final: "b@example.net", action: "delayed", status: "4.4.1", diagnostic: "451 try later" },
          { final: "c@example.net", action: "delivered", status: "2.0.0" },
          { final: "d@example.net", action: "failed", status: "4.7.0" },
        ],
        sent(),
        { headersOnly: true },
      ),
    );
    expect(fb.entries.map((e) => [e.email, e.kind])).toEqual([
      ["a@example.net", "bounce"],
      ["b@example.net", "delay"],
      ["c@example.net", "delivered"],
      ["d@example.net", "delay"],
    ]);
  });

  it("reads a base64 status part, bare LF line ends, and the returned headers only", async () => {
    const fb = await read(
      dsn([{ final: "lf@example.net", action: "failed", status: "5.1.2" }], sent(), {
        base64Status: true,
        headersOnly: true,
        eol: "\n",
      }),
    );
    expect(fb.entries).toEqual([{ kind: "bounce", email: "lf@example.net", subscriberId: ID, detail: "5.1.2" }]);
  });

  it("trusts a Message-ID only under MAIL_FROM's domain", async () => {
    const foreign = sentMessage("x@example.net", `<alert-1.${ID}@elsewhere.example>`);
    const fb = await read(dsn([{ final: "x@example.net", action: "failed", status: "5.1.1" }], foreign));
    expect(fb.entries[0]!.subscriberId).toBeUndefined();
  });
});

describe("Message-IDs", () => {
  it("readerOfMessageId inverts messageIdFor for a real subscriber id, under our domain only", () => {
    const id = subscriberId("ana@example.net");
    for (const edition of ["alert-border-r1", "digest-daily-2026-11-28", `confirm-${id}-2026112810`]) {
      expect(readerOfMessageId(messageIdFor(edition, id, OURS), OURS)).toBe(id);
      expect(readerOfMessageId(messageIdFor(edition, id, "other.example"), OURS)).toBeUndefined();
    }
    expect(readerOfMessageId("<CAB123@mail.example.net>", OURS)).toBeUndefined();
  });
});

describe("complaints (RFC 5965 ARF)", () => {
  it("Original-Rcpt-To names the reader", async () => {
    const fb = await read(arf(sent("[redacted]"), { originalRcptTo: "<ana@example.net>" }));
    expect(fb).toEqual({
      report: "feedback-report",
      entries: [
        {
          kind: "complaint",
          email: "ana@example.net",
          subscriberId: ID,
          detail: "feedback-type abuse from ISP-FBL/2.0",
        },
      ],
    });
  });

  it("a redacted recipient is found by our Message-ID; an unredacted To is used when nothing else names one", async () => {
    expect((await read(arf(sent("[redacted]")))).entries).toEqual([
      { kind: "complaint", subscriberId: ID, detail: "feedback-type abuse from ISP-FBL/2.0" },
    ]);
    expect((await read(arf(sent("Bo <bo@example.net>")))).entries.map((e) => e.email)).toEqual(["bo@example.net"]);
  });

  it("not-spam and auth-failure reports are not complaints", async () => {
    expect((await read(arf(sent(), { type: "not-spam" }))).entries[0]!.kind).toBe("not-spam");
    expect((await read(arf(sent(), { type: "auth-failure" }))).entries[0]!.kind).toBe("not-spam");
    expect((await read(arf(sent(), { type: "fraud" }))).entries[0]!.kind).toBe("complaint");
  });
});

describe("what is not a report", () => {
  it("an ordinary message (an auto-reply) is read as no report", async () => {
    expect(await read(sentMessage("news@iom.example", "<ooo@example.net>"))).toEqual({ report: "none", entries: [] });
  });

  it.each([
    ["empty input", "", /it is empty/],
    ["text without header fields", "just some words\nand more\n", /no header fields/],
  ])("refuses %s with a 400 that says what to give", async (_what, input, reason) => {
    const err = await refusal(() => read(input));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(reason);
    expect(err.message).toMatch(/bounce report or complaint as it arrived/);
  });

  it("refuses a report over the size limit with a 413", async () => {
    const err = await refusal(() => readFeedback(Buffer.alloc(MAX_FEEDBACK_BYTES + 1, 0x61), OURS));
    expect(err.status).toBe(413);
  });
});

describe("hostile reports", () => {
  // Each of these took minutes with a backtracking pattern over the field; now they are read at once.
  it("megabyte-long recipient fields and Message-IDs are read without a hang and name no one", async () => {
    const long = (final: string) =>
      read(dsn([{ final, action: "failed", status: "5.1.1" }], sentMessage("x@example.net", "<m@elsewhere.example>")));
    expect((await long(`${"a".repeat(1_000_000)} b`)).entries).toEqual([]);
    expect((await long("a@".repeat(500_000))).entries).toEqual([]);
    expect((await long(`${"<".repeat(1_000_000)}ok@example.net`)).entries.map((e) => e.email)).toEqual([
      "ok@example.net",
    ]);
    const id = `<${`.${ID}@x`.repeat(100_000)}>`;
    expect(
      (await read(dsn([{ final: "a@b.example", action: "failed", status: "5.1.1" }], sentMessage("a@b.example", id))))
        .entries[0]!.subscriberId,
    ).toBeUndefined();
  });

  it("deeply nested multiparts stop at a fixed depth", async () => {
    const nested = `Content-Type: multipart/mixed; boundary=b\r\n\r\n${"--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".repeat(5000)}`;
    expect(await read(nested)).toEqual({ report: "none", entries: [] });
  });
});

describe("the MIME structure (mailparser)", () => {
  // These read mail/mime.ts's parser directly until it was replaced by mailparser; the same
  // facts are now checked through readFeedback.
  it("parses Content-Type parameters, quoted or not, case-insensitively", async () => {
    const report = dsn([{ final: "ct@example.net", action: "failed", status: "5.1.1" }], sent())
      .replace(
        'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="=_dsn_1"',
        'Content-Type: Multipart/Report; Report-Type=delivery-status; boundary="a \\"b\\" c"',
      )
      .replaceAll("--=_dsn_1", '--a "b" c');
    expect(report).toContain('boundary="a \\"b\\" c"');
    expect(await read(report)).toEqual({
      report: "delivery-status",
      entries: [{ kind: "bounce", email: "ct@example.net", subscriberId: ID, detail: "5.1.1" }],
    });
  });

  it("decodes quoted-printable and nested multiparts, and stops at a missing closing delimiter", async () => {
    const raw = [
      "From: postmaster@example.net",
      'Content-Type: multipart/mixed; boundary="outer"',
      "",
      "--outer",
      'Content-Type: multipart/report; report-type=delivery-status; boundary="inner"',
      "",
      "--inner",
      "Content-Type: message/delivery-status",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "Reporting-MTA: dns; mx.example.net",
      "",
      "Final-Recipient: rfc822; caf=C3=A9@example.net",
      "Action: failed",
      "Status: 5.1.1",
      "Diagnostic-Code: smtp; 550 no such =",
      "user",
      "--inner--",
      "--outer",
      "Content-Type: text/html",
      "",
      "<p>cut short",
    ].join("\r\n");
    const fb = await read(raw);
    expect(fb.report).toBe("delivery-status");
    // The soft line break is joined; the address stays bytes (latin1), as Herald never mails non-ASCII local parts.
    expect(fb.entries).toEqual([
      { kind: "bounce", email: "caf\u00c3\u00a9@example.net", detail: "5.1.1: smtp; 550 no such user" },
    ]);
  });
});
