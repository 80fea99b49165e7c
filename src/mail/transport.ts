// Where mail goes: SMTP_URL -> a pooled nodemailer SMTP transport (DKIM-signed when DKIM_* is
// set); unset -> one .eml file per message in OUTBOX_DIR, so a fresh install can be tried
// without a mail server. The narrow Mailer interface is all the send job needs.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer";
import type { Config } from "../config/index.ts";
import type { Runtime } from "../runtime.ts";

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
    const transport = nodemailer.createTransport({
      url: config.smtpUrl,
      pool: true,
      maxConnections: SMTP_POOL_SIZE,
      maxMessages: 10_000,
      ...(dkim ? { dkim } : {}),
    });
    return {
      kind: "smtp",
      async send(message) {
        await transport.sendMail(message);
      },
      close: () => transport.close(),
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
 * What a failed send means for the reader. nodemailer puts the SMTP reply code on the error:
 * 5xx is permanent (the address is suppressed), 4xx and connection errors are transient (retry).
 */
export function isPermanentFailure(err: unknown): boolean {
  const code = (err as { responseCode?: number }).responseCode;
  return typeof code === "number" && code >= 500 && code < 600;
}
