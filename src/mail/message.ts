// The envelope of one email: addresses, the deterministic Message-ID and the list headers.
// Everything a reader or release could influence arrives here already one line (model
// validation + headerSafe) and nodemailer encodes header values, so nothing can add a header.
import type Mail from "nodemailer/lib/mailer";
import { headerSafe } from "../templates/render.ts";

/** The domain of MAIL_FROM ("Herald <news@example.org>" -> "example.org"), for Message-IDs. */
export function senderDomain(mailFrom: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(mailFrom.trim());
  return m ? m[1]!.toLowerCase() : "localhost";
}

/** Same (edition, subscriber) -> same Message-ID: a resend is recognisably the same message. */
export function messageIdFor(edition: string, subscriberId: string, domain: string): string {
  return `<${edition}.${subscriberId}@${domain}>`;
}

export interface Envelope {
  from: string;
  to: { name?: string; address: string };
  subject: string;
  html: string;
  text: string;
  messageId: string;
  language: string;
  /** PUBLIC_URL/unsubscribe?token=…: sent as List-Unsubscribe with RFC 8058 one-click. */
  unsubscribeUrl?: string;
}

export function buildMail(e: Envelope): Mail.Options {
  const headers: Record<string, string> = { "Content-Language": e.language };
  if (e.unsubscribeUrl) {
    headers["List-Unsubscribe"] = `<${e.unsubscribeUrl}>`;
    headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
  }
  return {
    from: e.from,
    to: e.to.name ? { name: headerSafe(e.to.name, 100), address: e.to.address } : e.to.address,
    subject: headerSafe(e.subject, 250),
    text: e.text,
    html: e.html,
    messageId: e.messageId,
    headers,
    // The Date header comes from nodemailer's own clock; Message-ID and content do not.
  };
}
