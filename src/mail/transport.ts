// Where mail goes: SMTP_URL -> Herald's SMTP pool (smtp.ts; DKIM-signed by nodemailer's signer
// when DKIM_* is set); unset -> one .eml file per message in OUTBOX_DIR, written by nodemailer's
// stream transport, so a fresh install can be tried without a mail server. The narrow Mailer
// interface is all the send job needs.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import nodemailer from "nodemailer";
import DKIM from "nodemailer/lib/dkim";
import type Mail from "nodemailer/lib/mailer";
import type { Config } from "../config/index.ts";
import type { Runtime } from "../runtime.ts";
import { builtHere } from "./message.ts";
import { SmtpError, SmtpPool, smtpTarget } from "./smtp.ts";

export interface Mailer {
  readonly kind: "smtp" | "outbox";
  /** Resolves once the server accepted the message (or the file is written); rejects otherwise. */
  send(message: Mail.Options): Promise<void>;
  close(): void;
}

/** Connections the pool keeps open to the SMTP server. */
export const SMTP_POOL_SIZE = 16;

export function createMailer(config: Config): Mailer {
  const dkim = config.dkim
    ? { domainName: config.dkim.domain, keySelector: config.dkim.selector, privateKey: config.dkim.privateKey }
    : undefined;
  if (config.smtpUrl) {
    const pool = new SmtpPool(smtpTarget(config.smtpUrl), SMTP_POOL_SIZE);
    const signer = dkim ? new DKIM(dkim) : undefined;
    return {
      kind: "smtp",
      async send(message) {
        const { from, to, raw } = builtMessage(message);
        if (signer) await pool.send(from, to, await signed(signer, raw));
        else await pool.send(from, to, raw, builtHere(raw));
      },
      close: () => pool.close(),
    };
  }
  const dir = path.resolve(config.outboxDir);
  mkdirSync(dir, { recursive: true });
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: "windows",
    ...(dkim ? { dkim } : {}),
  });
  return {
    kind: "outbox",
    async send(message) {
      const info = await transport.sendMail(message);
      const file = path.join(dir, `${safeFileName(String(message.messageId ?? info.messageId))}.eml`);
      // Write then rename: a reader of the outbox never sees half a message.
      writeFileSync(`${file}.tmp`, info.message as Buffer);
      renameSync(`${file}.tmp`, file);
    },
    close: () => transport.close(),
  };
}

/** The envelope and bytes of a message built by message.ts (buildMail, buildSplicedMail). */
function builtMessage(m: Mail.Options): { from: string; to: string; raw: Buffer } {
  const env = m.envelope as { from?: unknown; to?: unknown } | undefined;
  const to = Array.isArray(env?.to) && env.to.length === 1 ? env.to[0] : env?.to;
  if (!Buffer.isBuffer(m.raw) || typeof env?.from !== "string" || typeof to !== "string")
    throw new Error("the SMTP sender takes a built message: raw bytes and an envelope with one recipient");
  return { from: env.from, to, raw: m.raw };
}

/** The message with its DKIM-Signature header (the body is left as it is). */
async function signed(signer: DKIM, raw: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of signer.sign(raw)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function safeFileName(messageId: string): string {
  return messageId
    .replace(/^<|>$/g, "")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .slice(0, 200);
}

// One mailer per runtime: the SMTP pool is shared by every send job in the process. Keyed by the
// object passed, which is the runtime itself even where a caller declares only a Pick of it (not
// oncePerRuntime: closeMailer must be able to forget it).
type MailerDeps = Pick<Runtime, "config">;
const mailers = new WeakMap<MailerDeps, Mailer>();

export function mailerFor(rt: MailerDeps): Mailer {
  let m = mailers.get(rt);
  if (!m) {
    m = createMailer(rt.config);
    mailers.set(rt, m);
  }
  return m;
}

/** Closes the runtime's SMTP pool (on shutdown, and after each test). */
export function closeMailer(rt: MailerDeps): void {
  mailers.get(rt)?.close();
  mailers.delete(rt);
}

/**
 * What a failed send means for the reader: permanent when the server refused this recipient or
 * this message with a 5xx (the address is suppressed); anything else (4xx, a refused sender or
 * login, a lost connection, a full disk) is transient and the batch is retried.
 */
export function isPermanentFailure(err: unknown): boolean {
  return err instanceof SmtpError && err.permanent;
}
