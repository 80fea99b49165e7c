import { generateKeyPairSync } from "node:crypto";
import nodemailer from "nodemailer";
import { describe, expect, it } from "vitest";
import { buildMail, messageIdFor, senderDomain } from "../../src/mail/message.ts";
import { emailKey, mailboxKey, normalizeEmail, parseSubscriberInput, wants } from "../../src/subscribers/model.ts";
import { legacyId, subscriberId } from "../../src/subscribers/store.ts";
import { signToken, verifyToken } from "../../src/subscribers/tokens.ts";

const KEY = "k".repeat(40);

describe("subscriber model", () => {
  it("lower-cases the domain only and applies defaults", () => {
    expect(normalizeEmail("  Ana.Lopez@Example.ORG ")).toBe("Ana.Lopez@example.org");
    expect(parseSubscriberInput({ email: "a@B.org", topics: "health;migration-data" })).toMatchObject({
      email: "a@b.org",
      language: "en",
      frequency: "daily",
      topics: ["health", "migration-data"],
      regions: [],
    });
  });

  it("lists every problem at once", () => {
    try {
      parseSubscriberInput({
        email: "nope",
        language: "de",
        frequency: "hourly",
        timezone: "Mars/Olympus",
        name: "a\r\nBcc: x@y.z",
      });
      expect.unreachable();
    } catch (err) {
      const paths = (err as { issues: { path: string }[] }).issues.map((i) => i.path).sort();
      expect(paths).toEqual(["email", "frequency", "language", "name", "timezone"]);
    }
  });

  it("empty topics or regions mean all", () => {
    const r = { topics: ["health"], regions: ["chad"] };
    expect(wants({ topics: [], regions: [] }, r)).toBe(true);
    expect(wants({ topics: ["health"], regions: ["niger"] }, r)).toBe(false);
    expect(wants({ topics: ["health", "x"], regions: [] }, r)).toBe(true);
  });
});

describe("tokens", () => {
  it("round-trips and refuses forgery, other purposes and expiry", () => {
    const t = signToken(KEY, "confirm", "s1", 2000);
    expect(verifyToken(KEY, "confirm", t, 1000)).toBe("s1");
    expect(() => verifyToken(KEY, "confirm", t, 3000)).toThrow(/expired/);
    expect(() => verifyToken(KEY, "manage", t, 1000)).toThrow(/not valid here/);
    expect(() => verifyToken("x".repeat(40), "confirm", t, 1000)).toThrow(/not valid/);
    const [body, sig] = t.split(".");
    const forged = `${Buffer.from(JSON.stringify({ p: "c", s: "s2" })).toString("base64url")}.${sig}`;
    expect(() => verifyToken(KEY, "confirm", forged, 1000)).toThrow(/not valid/);
    expect(body).toBeTruthy();
    expect(() => verifyToken(KEY, "manage", undefined, 0)).toThrow(/incomplete/);
  });

  it("accepts links signed with the previous key after a rotation, and no other", () => {
    const old = "o".repeat(40);
    const t = signToken(old, "manage", "s9");
    expect(verifyToken([KEY, old], "manage", t, 0)).toBe("s9");
    expect(() => verifyToken(KEY, "manage", t, 0)).toThrow(/not valid/);
    expect(() => verifyToken([KEY, "z".repeat(40)], "manage", t, 0)).toThrow(/not valid/);
  });
});

describe("message envelope", () => {
  it("deterministic Message-ID from edition and reader", () => {
    expect(senderDomain("IOM News <News@IOM.example>")).toBe("iom.example");
    expect(messageIdFor("daily-20261128T08", "s1", "iom.example")).toBe("<daily-20261128T08.s1@iom.example>");
  });

  it("no header can be injected through a subject or a name", async () => {
    const t = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const mail = buildMail(
      {
        from: "n@iom.example",
        to: { name: "Eve\r\nBcc: victim@x.org", address: "eve@x.org" },
        subject: "Title\r\nBcc: victim@x.org\nX-Evil: 1",
        html: "<p>x</p>",
        text: "x",
        messageId: "<e.s@iom.example>",
        language: "en",
        unsubscribeUrl: "https://n.example/unsubscribe?token=a.b",
      },
      0,
    );
    const raw = (await t.sendMail(mail)).message.toString();
    expect(raw).not.toMatch(/^Bcc:/im);
    expect(raw).not.toMatch(/^X-Evil:/im);
    expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);
    expect(raw).toMatch(/^Subject: Title Bcc: victim@x.org X-Evil: 1/m);
  });
});

describe("DKIM", () => {
  it("signs both List-Unsubscribe headers", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const t = nodemailer.createTransport({
      streamTransport: true,
      buffer: true,
      dkim: { domainName: "iom.example", keySelector: "herald", privateKey: pem },
    });
    const mail = buildMail(
      {
        from: "News <n@iom.example>",
        to: { address: "a@x.org" },
        subject: "Hi",
        html: "<p>x</p>",
        text: "x",
        messageId: "<e.s@iom.example>",
        language: "en",
        unsubscribeUrl: "https://n.example/unsubscribe?token=a.b",
      },
      0,
    );
    const raw = (await t.sendMail(mail)).message.toString();
    const sig = /^DKIM-Signature:[\s\S]*?(?=\r\n\S)/m.exec(raw)?.[0].replace(/\r\n\s+/g, " ") ?? "";
    expect(sig).toMatch(/d=iom\.example/);
    expect(sig.toLowerCase()).toMatch(/h=[^;]*list-unsubscribe:list-unsubscribe-post/);
  });
});

describe("one reader per address, however it is spelled", () => {
  it("emailKey case-folds the whole normalised address; the delivery address keeps its local part", () => {
    for (const spelling of ["Ana.B@Example.ORG", " ana.b@example.org", "ANA.B@EXAMPLE.ORG\t", "ana.b@example.org\n"]) {
      expect(emailKey(spelling)).toBe("ana.b@example.org");
      expect(subscriberId(spelling)).toBe(subscriberId("ana.b@example.org"));
    }
    expect(normalizeEmail(" Ana.B@Example.ORG ")).toBe("Ana.B@example.org");
    expect(parseSubscriberInput({ email: " Ana.B@Example.ORG " }).email).toBe("Ana.B@example.org");
    // NFC: a composed and a decomposed é are one address.
    expect(emailKey("jos\u00e9@example.org")).toBe(emailKey("jose\u0301@example.org"));
    expect(subscriberId("a@example.org")).not.toBe(subscriberId("b@example.org"));
  });

  it("mailboxKey drops a +tag for the hourly confirmation rule only", () => {
    expect(mailboxKey("Ana+News@Example.org")).toBe("ana@example.org");
    expect(mailboxKey("ana+a+b@example.org")).toBe("ana@example.org");
    expect(mailboxKey("+x@example.org")).toBe("+x@example.org");
    expect(subscriberId("ana+news@example.org")).not.toBe(subscriberId("ana@example.org"));
  });

  it("a legacy id (stored before case-folding) is the hash of the address as typed, domain lower-cased", () => {
    expect(legacyId("Ana@Example.org")).not.toBe(subscriberId("Ana@Example.org"));
    expect(legacyId("ana@example.org")).toBe(subscriberId("ana@example.org"));
  });
});

describe("names: a name only", () => {
  it.each([
    "http://evil.example",
    "Visit www.evil.example",
    "evil.com",
    "bit.ly",
    "x.co/abc",
    "ana@evil.example",
    "evil\u3002com",
    "\u202eevil",
    "Jos\ufffd",
    "<b>Ana</b>",
  ])("%j is refused", (name) => {
    expect(() => parseSubscriberInput({ email: "a@example.org", name })).toThrow(/name: /);
  });
  it.each(["Ana", "J.R.R. Tolkien", "Dr. Ana O'Neil-Šimić", "Nour A.", "李小龍", "Ana & Bo", "María-José (IOM)"])(
    "%j is kept",
    (name) => {
      expect(parseSubscriberInput({ email: "a@example.org", name }).name).toBe(name);
    },
  );
});
