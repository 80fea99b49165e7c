// The spliced message (segment body encoded once in quoted-printable pieces, the reader's values
// encoded per message) is, once parsed by mailparser, the message the whole-body path builds:
// buildMail(personalise(...)). Alerts, digests of 1..50 items and confirmations, readers in
// several languages and zones with names that need escaping and encoding. DKIM signs the final
// bytes: the body hash in the signature is the hash of the spliced body.
import { createHash, generateKeyPairSync } from "node:crypto";
import { type ParsedMail, simpleParser } from "mailparser";
import nodemailer from "nodemailer";
import { describe, expect, it } from "vitest";
import { buildMail, buildSplicedMail, builtHere, type Envelope, qpPiece, recycleRaw } from "../../src/mail/message.ts";
import { toWire } from "../../src/mail/smtp.ts";
import { defaultTaxonomy } from "../../src/releases/taxonomy.ts";
import { renderAlert, renderConfirmation, renderDigest } from "../../src/templates/messages.ts";
import { personalise, personalMail, type Reader } from "../../src/templates/personalise.ts";
import type { Brand, RenderedMessage } from "../../src/templates/render.ts";
import { release } from "../helpers/feeds.ts";

const brand: Brand = {
  orgName: "Herald News",
  orgNames: { fr: "Nouvelles « Herald »" },
  taxonomy: defaultTaxonomy(),
  color: "#0033a0",
  publicUrl: "https://news.example.org",
};
const NOW = Date.parse("2026-11-28T10:00:00Z");

function readers(language: "en" | "fr" | "es"): Reader[] {
  return [
    {
      name: 'Zoë <O\'Brien> & "Co"',
      language,
      timezone: "Pacific/Auckland",
      unsubscribeUrl: "https://news.example.org/unsubscribe?token=a.b=&x=1",
      preferencesUrl: "https://news.example.org/preferences?token=c.d",
    },
    {
      language,
      timezone: "UTC",
      unsubscribeUrl: "https://news.example.org/u?t=1",
      preferencesUrl: "https://news.example.org/p?t=1",
    },
    {
      name: "Ана Петрова 👋",
      language,
      timezone: "America/Los_Angeles",
      confirmUrl: "https://news.example.org/confirm?token=zz",
    },
  ];
}

function envelope(r: Reader, i: number): Omit<Envelope, "subject" | "html" | "text"> {
  return {
    from: "Herald News <news@example.org>",
    to: { name: r.name, address: `reader${i}@example.org` },
    messageId: `<daily-1.s${String(i).padStart(20, "0")}@example.org>`,
    language: r.language,
    unsubscribeUrl: r.unsubscribeUrl,
    listId: "Herald News <news.example.org>",
  };
}

const pick = (p: ParsedMail) => ({
  subject: p.subject,
  from: p.from?.text,
  to: (Array.isArray(p.to) ? p.to[0] : p.to)?.text,
  messageId: p.messageId,
  date: p.date?.getTime(),
  html: p.html,
  text: p.text,
  headers: [...p.headers.entries()].filter(([k]) => !["content-type", "content-transfer-encoding"].includes(k)),
  attachments: p.attachments.length,
});

async function both(m: RenderedMessage, r: Reader, i: number) {
  const e = envelope(r, i);
  const old = buildMail({ ...e, ...personalise(m, r) }, NOW);
  const spliced = personalMail(m, r, e, NOW);
  expect(spliced.envelope).toEqual(old.envelope);
  return {
    old: await simpleParser(old.raw as Buffer),
    spliced: await simpleParser(spliced.raw as Buffer),
    raw: spliced.raw as Buffer,
  };
}

function items(n: number) {
  return Array.from({ length: n }, (_, i) =>
    release(
      {
        title: `Release ${i}: réfugiés & <migrants> — "${i}"`,
        summary: i % 2 ? `Résumé ${i} ✓` : undefined,
        topics: [["health", "climate-and-environment", "migration-governance"][i % 3]!],
        publishedAt: new Date(NOW - i * 3_600_000).toISOString(),
      },
      { id: `rel-${i}` },
    ),
  );
}

/** A plain envelope for the tests that look at bodies only. */
const PLAIN = {
  from: "n@example.org",
  to: { address: "r@example.org" },
  messageId: "<x.s@example.org>",
  language: "en",
  subject: "s",
};
describe("spliced raw messages", () => {
  const messages: [string, () => Promise<RenderedMessage>, "en" | "fr" | "es"][] = [
    [
      "alert",
      () =>
        renderAlert(
          brand,
          "fr",
          release({ title: "Crise: aide d'urgence = 100 %", summary: "é".repeat(200) }, { id: "a1" }),
        ),
      "fr",
    ],
    ["confirmation", () => renderConfirmation(brand, "es"), "es"],
    ...[1, 2, 10, 50].map(
      (n) =>
        [`digest of ${n}`, () => renderDigest(brand, "en", "daily", items(n)), "en"] as [
          string,
          () => Promise<RenderedMessage>,
          "en",
        ],
    ),
    ["French digest of 7", () => renderDigest(brand, "fr", "weekly", items(7)), "fr"],
  ];

  it.each(messages)("%s: parses as the whole-body message does", async (_name, render, lang) => {
    const m = await render();
    for (const [i, r] of readers(lang).entries()) {
      // Twice per reader: the second comes from the cached pieces.
      for (let k = 0; k < 2; k++) {
        const { old, spliced, raw } = await both(m, r, i);
        expect(pick(spliced)).toEqual(pick(old));
        // Not vacuous: the reader's own values are in what was compared.
        if (r.unsubscribeUrl && m.html.includes("unsubscribe"))
          expect(spliced.html).toContain(r.unsubscribeUrl.replace(/&/g, "&amp;"));
        if (r.name) expect(spliced.text).toContain(r.name);
        const text = raw.toString("latin1");
        for (const line of text.split("\r\n")) expect(line.length).toBeLessThanOrEqual(76 + 900); // List-Unsubscribe may be long
        const body = text.slice(text.indexOf("\r\n\r\n"));
        for (const line of body.split("\r\n")) expect(line.length).toBeLessThanOrEqual(76);
        expect(text).not.toMatch(/[^\r]\n|\r[^\n]/);
        expect(text).not.toMatch(/[^\x09\x0a\x0d\x20-\x7e]/); // 7-bit on the wire
      }
    }
  });

  it("quoted-printable pieces parse as the whole-body message, joined in any order", async () => {
    const samples = [
      "",
      " ",
      "a ",
      "=",
      "\t",
      "x".repeat(75),
      "x".repeat(76),
      `${"é".repeat(30)} `,
      "line\nbreak\r\n",
      "\r",
      "👋".repeat(40),
      "trailing space ",
      "=0A =\n",
    ];
    const e = PLAIN;
    for (const a of samples) {
      for (const b of samples) {
        const p = await simpleParser(
          buildSplicedMail(e, [qpPiece(a), qpPiece(b)], [qpPiece(`<p>${a}</p>`), qpPiece(b)], 0).raw as Buffer,
        );
        const old = await simpleParser(buildMail({ ...e, text: a + b, html: `<p>${a}</p>${b}` }, 0).raw as Buffer);
        expect([a, b, p.text]).toEqual([a, b, old.text]);
        expect([a, b, p.html]).toEqual([a, b, old.html]);
      }
    }
  });

  it("quoted-printable pieces of any size, one after another, keep lines within 76 characters and parse back", async () => {
    // qpPiece encodes through reused scratch buffers, and a piece too large for them through its
    // own: a short piece after a long one must not carry any of the long one's bytes.
    const e = PLAIN;
    const sizes = [100_000, 3, 30_000, 1];
    const texts = sizes.map((n, i) => `${"é=\nx ".repeat(Math.ceil(n / 5)).slice(0, n)}${i}`);
    const pieces = texts.map((t) => qpPiece(t));
    for (const p of pieces) {
      const lines = p.toString("latin1").split("\r\n");
      expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(76);
    }
    const parsed = await simpleParser(buildSplicedMail(e, pieces, [qpPiece("<p>x</p>")], 0).raw as Buffer);
    expect(parsed.text).toBe(texts.join(""));
  });

  it("no line of a spliced message opens with '.', wherever the dots fall: it goes to SMTP as it is", async () => {
    const e = PLAIN;
    // Dots at every column, after line feeds, and where a soft line break falls just before one.
    const texts = [
      ".starts",
      "a\n.b\n..c\n.",
      ...Array.from({ length: 80 }, (_, k) => `${"x".repeat(k)}${".".repeat(200)}`),
      `${"é".repeat(24)}.${"y".repeat(74)}.`,
    ];
    const raw = buildSplicedMail(
      e,
      texts.map((t) => qpPiece(t)),
      texts.map((t) => qpPiece(`<p>${t}</p>`)),
      0,
    ).raw as Buffer;
    expect(raw[0]).not.toBe(46);
    expect(raw.indexOf("\n.")).toBe(-1);
    expect(raw.indexOf("\r.")).toBe(-1);
    expect(toWire(raw)).toBe(raw); // the SMTP client sends it without a copy
    // and without looking (builtHere): only for buffers made here, as they were made.
    expect(builtHere(raw)).toBe(true);
    expect(builtHere(Buffer.from(raw))).toBe(false);
    const parsed = await simpleParser(raw);
    expect(parsed.text).toBe(texts.join(""));
    expect(parsed.html).toBe(texts.map((t) => `<p>${t}</p>`).join(""));
  });

  it("DKIM signs the spliced message: the signature's body hash is the hash of the bytes sent", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const transport = nodemailer.createTransport({
      streamTransport: true,
      buffer: true,
      newline: "windows",
      dkim: {
        domainName: "example.org",
        keySelector: "s1",
        privateKey: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      },
    });
    const m = await renderDigest(brand, "en", "daily", items(5));
    const r = readers("en")[0]!;
    const info = await transport.sendMail(personalMail(m, r, envelope(r, 0), NOW));
    const signed = (info.message as Buffer).toString("latin1");
    const sig = /DKIM-Signature:([\s\S]*?)\r\n(?![ \t])/.exec(signed)?.[1]?.replace(/\s+/g, "");
    expect(sig).toBeTruthy();
    const bh = /bh=([^;]+)/.exec(sig!)![1];
    // Relaxed body canonicalisation (RFC 6376 3.4.4) of the body as sent.
    const body = signed.slice(signed.indexOf("\r\n\r\n") + 4);
    const canon = `${body
      .split("\r\n")
      .map((l) => l.replace(/[ \t]+/g, " ").replace(/ $/, ""))
      .join("\r\n")
      .replace(/(\r\n)*$/, "")}\r\n`;
    expect(bh).toBe(createHash("sha256").update(canon, "latin1").digest("base64"));
    const parsed = await simpleParser(info.message as Buffer);
    expect(parsed.html).toBe(personalise(m, r).html);
  });

  it("a raw buffer handed back after acceptance is reused once, never by two messages at a time", () => {
    const e = PLAIN;
    const build = (body: string) => buildSplicedMail(e, [qpPiece(body)], [qpPiece(`<p>${body}</p>`)], 0);
    const body = "x".repeat(20_000);
    const first = build(body);
    const bytes = Buffer.from(first.raw as Buffer);
    recycleRaw(first);
    recycleRaw(first); // twice: still one idle buffer
    const second = build(`${body}y`);
    const third = build(`${body}z`);
    expect((second.raw as Buffer).buffer).toBe((first.raw as Buffer).buffer);
    expect((third.raw as Buffer).buffer).not.toBe((second.raw as Buffer).buffer);
    // The reused buffer holds the new message only (its own length, its own bytes).
    expect(Buffer.compare(second.raw as Buffer, bytes)).not.toBe(0);
    expect((second.raw as Buffer).toString("latin1").replace(/=\r\n/g, "")).toContain(`${"x".repeat(60)}y`);
    // A buffer made elsewhere is never taken.
    const foreign = { raw: Buffer.alloc(30_000) };
    recycleRaw(foreign);
    recycleRaw(second);
    expect((build(body).raw as Buffer).buffer).not.toBe(foreign.raw.buffer);
  });
});
