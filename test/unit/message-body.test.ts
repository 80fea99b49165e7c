import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { buildMail } from "../../src/mail/message.ts";

describe("raw message body", () => {
  // Part lengths around the 57-byte line boundary, and multi-byte characters.
  const bodies = [
    "",
    "a",
    "x".repeat(56),
    "x".repeat(57),
    "x".repeat(58),
    "x".repeat(114),
    "é".repeat(29),
    `<p>Bonjour 👋 ${"résumé ".repeat(300)}</p>`,
  ];

  it.each(bodies.map((b, i) => [i, b]))(
    "body %i decodes to exactly what went in, in lines of at most 76",
    async (_i, body) => {
      const mail = buildMail(
        {
          from: "News <n@iom.example>",
          to: { name: "Zoë", address: "z@x.org" },
          subject: "Résumé",
          html: `<div>${body}</div>`,
          text: body,
          messageId: "<e.s@iom.example>",
          language: "fr",
        },
        0,
      );
      const raw = mail.raw as Buffer;
      expect(Buffer.isBuffer(raw)).toBe(true);
      const base64 = raw
        .toString("latin1")
        .split("\r\n")
        .filter((l) => /^[A-Za-z0-9+/=]+$/.test(l));
      for (const line of base64) expect(line.length).toBeLessThanOrEqual(76);
      expect(raw.toString("latin1")).not.toMatch(/[^\r]\n/);
      const parsed = await simpleParser(raw);
      expect(parsed.text ?? "").toBe(body);
      expect(parsed.html).toBe(`<div>${body}</div>`);
      expect(parsed.subject).toBe("Résumé");
    },
  );
});
