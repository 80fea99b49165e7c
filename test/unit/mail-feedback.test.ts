// Reading bounce reports and complaints (mail/feedback.ts, mail/mime.ts), without Redis.
import { describe, expect, it } from "vitest";
import { HeraldError } from "../../src/errors.ts";
import { MAX_FEEDBACK_BYTES, readFeedback } from "../../src/mail/feedback.ts";
import { messageIdFor, readerOfMessageId } from "../../src/mail/message.ts";
import { parseContentType, parseMime } from "../../src/mail/mime.ts";
import { subscriberId } from "../../src/subscribers/store.ts";
import { arf, dsn, sentMessage } from "../helpers/reports.ts";

const OURS = "iom.example";
const ID = "s0123456789abcdef0123";
const sent = (to = "Ana <Ana@Example.net>") => sentMessage(to, `<alert-health-2026-11-28.${ID}@iom.example>`);
const read = (s: string) => readFeedback(Buffer.from(s, "latin1"), OURS);

function refusal(fn: () => unknown): HeraldError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HeraldError) return err;
    throw err;
  }
  throw new Error("no error");
}

describe("bounce reports (RFC 3464)", () => {
  it("a permanent failure is a bounce for the address, with the reader from our Message-ID", () => {
    const fb = read(dsn([{ final: "ana@example.net", original: "Ana@Example.NET", action: "failed", status: "5.1.1", diagnostic: "550 5.1.1 User unknown" }], sent()));
    expect(fb).toEqual({
      report: "delivery-status",
      // Original-Recipient (the address as Herald gave it) wins; the domain is lower-cased, as subscribers are keyed.
      entries: [{ kind: "bounce", email: "Ana@example.net", subscriberId: ID, detail: "5.1.1: smtp; 550 5.1.1 User unknown" }],
    });
  });

  it("reads one entry per recipient: failed, delayed, delivered, and failed with a 4.x.x status (transient)", () => {
    const fb = read(
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

  it("reads a base64 status part, bare LF line ends, and the returned headers only", () => {
    const fb = read(dsn([{ final: "lf@example.net", action: "failed", status: "5.1.2" }], sent(), { base64Status: true, headersOnly: true, eol: "\n" }));
    expect(fb.entries).toEqual([{ kind: "bounce", email: "lf@example.net", subscriberId: ID, detail: "5.1.2" }]);
  });

  it("trusts a Message-ID only under MAIL_FROM's domain", () => {
    const foreign = sentMessage("x@example.net", `<alert-1.${ID}@elsewhere.example>`);
    const fb = read(dsn([{ final: "x@example.net", action: "failed", status: "5.1.1" }], foreign));
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
  it("Original-Rcpt-To names the reader", () => {
    const fb = read(arf(sent("[redacted]"), { originalRcptTo: "<ana@example.net>" }));
    expect(fb).toEqual({
      report: "feedback-report",
      entries: [{ kind: "complaint", email: "ana@example.net", subscriberId: ID, detail: "feedback-type abuse from ISP-FBL/2.0" }],
    });
  });

  it("a redacted recipient is found by our Message-ID; an unredacted To is used when nothing else names one", () => {
    expect(read(arf(sent("[redacted]"))).entries).toEqual([{ kind: "complaint", subscriberId: ID, detail: "feedback-type abuse from ISP-FBL/2.0" }]);
    expect(read(arf(sent("Bo <bo@example.net>"))).entries.map((e) => e.email)).toEqual(["bo@example.net"]);
  });

  it("not-spam and auth-failure reports are not complaints", () => {
    expect(read(arf(sent(), { type: "not-spam" })).entries[0]!.kind).toBe("not-spam");
    expect(read(arf(sent(), { type: "auth-failure" })).entries[0]!.kind).toBe("not-spam");
    expect(read(arf(sent(), { type: "fraud" })).entries[0]!.kind).toBe("complaint");
  });
});

describe("what is not a report", () => {
  it("an ordinary message (an auto-reply) is read as no report", () => {
    expect(read(sentMessage("news@iom.example", "<ooo@example.net>"))).toEqual({ report: "none", entries: [] });
  });

  it.each([
    ["empty input", "", /it is empty/],
    ["text without header fields", "just some words\nand more\n", /no header fields/],
  ])("refuses %s with a 400 that says what to give", (_what, input, reason) => {
    const err = refusal(() => read(input));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(reason);
    expect(err.message).toMatch(/bounce report or complaint as it arrived/);
  });

  it("refuses a report over the size limit with a 413", () => {
    const err = refusal(() => readFeedback(Buffer.alloc(MAX_FEEDBACK_BYTES + 1, 0x61), OURS));
    expect(err.status).toBe(413);
  });
});

describe("hostile reports", () => {
  // Each of these took minutes with a backtracking pattern over the field; now they are read at once.
  it("megabyte-long recipient fields and Message-IDs are read without a hang and name no one", () => {
    const long = (final: string) => read(dsn([{ final, action: "failed", status: "5.1.1" }], sentMessage("x@example.net", "<m@elsewhere.example>")));
    expect(long(`${"a".repeat(1_000_000)} b`).entries).toEqual([]);
    expect(long("a@".repeat(500_000)).entries).toEqual([]);
    expect(long(`${"<".repeat(1_000_000)}ok@example.net`).entries.map((e) => e.email)).toEqual(["ok@example.net"]);
    const id = `<${`.${ID}@x`.repeat(100_000)}>`;
    expect(read(dsn([{ final: "a@b.example", action: "failed", status: "5.1.1" }], sentMessage("a@b.example", id))).entries[0]!.subscriberId).toBeUndefined();
  });

  it("deeply nested multiparts stop at a fixed depth", () => {
    const nested = `Content-Type: multipart/mixed; boundary=b\r\n\r\n${"--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".repeat(5000)}`;
    expect(read(nested)).toEqual({ report: "none", entries: [] });
  });
});

describe("the MIME reader", () => {
  it("parses Content-Type parameters, quoted or not, case-insensitively", () => {
    expect(parseContentType('Multipart/Report; Report-Type=delivery-status; boundary="a \\"b\\" c"')).toEqual({
      type: "multipart/report",
      params: { "report-type": "delivery-status", boundary: 'a "b" c' },
    });
    expect(parseContentType(undefined)).toEqual({ type: "text/plain", params: {} });
  });

  it("decodes quoted-printable and nested multiparts, and stops at a missing closing delimiter", () => {
    const raw = [
      'Content-Type: multipart/mixed; boundary="outer"',
      "",
      "--outer",
      'Content-Type: multipart/alternative; boundary="inner"',
      "",
      "--inner",
      "Content-Type: text/plain",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "caf=C3=A9 au =",
      "lait",
      "--inner--",
      "--outer",
      "Content-Type: text/html",
      "",
      "<p>cut short",
    ].join("\r\n");
    const root = parseMime(raw);
    expect(root.parts.map((p) => p.type)).toEqual(["multipart/alternative", "text/html"]);
    expect(Buffer.from(root.parts[0]!.parts[0]!.body, "latin1").toString("utf8")).toBe("café au lait");
    expect(root.parts[1]!.body).toBe("<p>cut short");
  });
});
