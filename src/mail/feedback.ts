// Delivery feedback that arrives by mail, after an SMTP server first accepted a message:
//   - bounce reports, RFC 3464 DSNs (multipart/report; report-type=delivery-status): a
//     recipient whose Action is "failed" with a 5.x.x status is bounced, as a 5xx refusal at
//     send time is (send-emails.ts); "delayed" and 4.x.x are only reported;
//   - complaints, RFC 5965 ARF feedback-loop reports (report-type=feedback-report): the reader
//     pressed "this is spam", and is never mailed again ("not-spam" and RFC 6591 authentication
//     failure reports change nothing).
// The reader is found by the recipient address the report names, else by the Message-ID of the
// returned message (Herald writes the subscriber id into it, message.ts): feedback loops often
// redact the address. Only Message-IDs under MAIL_FROM's domain are trusted.
// Fed by `herald mail feedback` (an MTA pipe) or POST /api/mail/feedback.
import { HeraldError } from "../errors.ts";
import { countStat } from "../metrics.ts";
import type { Runtime } from "../runtime.ts";
import { normalizeEmail, type Subscriber } from "../subscribers/model.ts";
import { type SubscriberDeps, SubscriberService } from "../subscribers/service.ts";
import { readerOfMessageId, senderDomain } from "./message.ts";
import { type ParsedMail, simpleParser } from "mailparser";

/** Reports larger than this are refused (a complaint carries the whole original message). */
export const MAX_FEEDBACK_BYTES = 5 * 1024 * 1024;

export type FeedbackKind = "bounce" | "delay" | "delivered" | "complaint" | "not-spam";

export interface FeedbackEntry {
  kind: FeedbackKind;
  /** The recipient address the report names, when it names one. */
  email?: string;
  /** From the returned message's Message-ID, when it is one of Herald's. */
  subscriberId?: string;
  /** Status code and diagnostic, or the feedback type: what the suppression records. */
  detail: string;
}

export interface Feedback {
  report: "delivery-status" | "feedback-report" | "none";
  entries: FeedbackEntry[];
}

export type FeedbackOutcome = FeedbackEntry & {
  outcome: "bounced" | "complained" | "unchanged" | "unknown" | "ignored";
  /** The subscriber's status after this report (absent when unknown). */
  status?: Subscriber["status"];
};

/**
 * mailparser reads the MIME structure (headers, multipart boundaries, transfer encodings). Its
 * defaults fold a message/delivery-status part, and an inline message/rfc822 part with the
 * returned message's Message-ID, into the text; with keepDeliveryStatus and ignoreEmbedded both
 * stay attachments, read here. Nothing is rendered: no HTML, no links.
 */
const MAIL_OPTIONS = {
  keepDeliveryStatus: true,
  ignoreEmbedded: true,
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  keepCidLinks: true,
  checksumAlgo: false,
} as const;

/** Reads a report. Not a mail message at all: 400. A message that is no report: report "none". */
export async function readFeedback(raw: Buffer, ourDomain: string): Promise<Feedback> {
  if (raw.length === 0) throw notAMessage("it is empty");
  if (raw.length > MAX_FEEDBACK_BYTES)
    throw new HeraldError("HERALD_TOO_LARGE", `the report is larger than ${MAX_FEEDBACK_BYTES} bytes (5 MiB)`, 413);
  let mail: ParsedMail;
  try {
    mail = await simpleParser(raw, MAIL_OPTIONS);
  } catch (err) {
    // More than 1,000 MIME parts (mailsplit's limit) or a header block over 1 MB: no mail
    // server writes a report like that, so it is read as no report, as any other non-report.
    if (/Max allowed child nodes|Max header size/i.test((err as Error).message)) return { report: "none", entries: [] };
    throw notAMessage((err as Error).message);
  }
  if (mail.headers.size === 0) throw notAMessage("it has no header fields");
  const parts = mail.attachments.map((a) => ({
    type: a.contentType.toLowerCase(),
    body: a.content.toString("latin1"),
  }));
  const orig = () => original(parts, ourDomain);
  for (const part of parts) {
    if (part.type === "message/delivery-status")
      return { report: "delivery-status", entries: deliveryStatus(part.body, orig()) };
    if (part.type === "message/feedback-report")
      return { report: "feedback-report", entries: feedbackReport(part.body, orig()) };
  }
  return { report: "none", entries: [] };
}

function notAMessage(why: string): HeraldError {
  return new HeraldError(
    "HERALD_NOT_A_MESSAGE",
    `not a mail message (${why}): give a bounce report or complaint as it arrived (RFC 5322, with its headers)`,
    400,
  );
}

/**
 * The returned message's headers (message/rfc822 or text/rfc822-headers), and its reader. Only
 * its header block is read, with parseHeaderBlock, not the whole message again with mailparser:
 * two fields are wanted, and mailparser refuses a header block over 1 MB (a hostile Message-ID)
 * where this reads it and finds no reader in it.
 */
function original(parts: { type: string; body: string }[], ourDomain: string): { subscriberId?: string; to?: string } {
  for (const part of parts) {
    if (part.type !== "message/rfc822" && part.type !== "text/rfc822-headers" && part.type !== "message/rfc822-headers")
      continue;
    const headers = parseHeaderBlock(part.body.split(/\r?\n\r?\n/)[0] ?? "");
    return {
      subscriberId: readerOfMessageId(headers.get("message-id")?.[0] ?? "", ourDomain),
      to: addressIn(headers.get("to")?.[0]),
    };
  }
  return {};
}

/**
 * Splits a header block (no body) into unfolded fields; lines that are not fields are skipped.
 * Kept by hand: the fields of a DSN (RFC 3464) or ARF report (RFC 5965) are the *body* of their
 * part, in groups separated by blank lines, which mailparser hands over as bytes, unparsed.
 */
function parseHeaderBlock(block: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (const line of block.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const m = /^([!-9;-~]+):[ \t]*(.*)$/.exec(line);
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    const list = headers.get(name) ?? [];
    list.push(m[2]!.trim());
    headers.set(name, list);
  }
  return headers;
}

/** Report fields come in groups separated by blank lines; each group reads like a header block. */
function fieldGroups(body: string): Map<string, string[]>[] {
  return body
    .split(/\r?\n[ \t]*\r?\n/)
    .map(parseHeaderBlock)
    .filter((g) => g.size > 0);
}

const first = (g: Map<string, string[]>, name: string) => g.get(name)?.[0];

/** "rfc822; Ana@Example.NET" / "<Ana@example.net>" / "Ana <Ana@example.net>" -> "Ana@example.net" (as subscribers are keyed). */
function addressIn(value: string | undefined): string | undefined {
  if (!value) return undefined;
  // No unanchored pattern over the field: it can be megabytes long, and backtracking on it was quadratic.
  let v = /^\s*[a-z0-9-]+\s*;/i.test(value) ? value.slice(value.indexOf(";") + 1) : value;
  v = v.trim();
  const open = v.lastIndexOf("<");
  if (open >= 0) v = v.slice(open + 1, v.indexOf(">", open) < 0 ? undefined : v.indexOf(">", open));
  else v = v.split(/\s+/).pop() ?? "";
  return /^[^<>\s"@]+@[^<>\s"@]+$/.test(v) ? normalizeEmail(v) : undefined;
}

function deliveryStatus(body: string, orig: { subscriberId?: string }): FeedbackEntry[] {
  const [, ...recipients] = fieldGroups(body); // the first group is about the message
  return recipients.flatMap((g) => {
    const email = addressIn(first(g, "original-recipient")) ?? addressIn(first(g, "final-recipient"));
    if (!email && !orig.subscriberId) return [];
    const action = (first(g, "action") ?? "").toLowerCase();
    const status = first(g, "status") ?? "";
    const diagnostic = first(g, "diagnostic-code") ?? "";
    // "failed" with a 4.x.x status contradicts itself: treated as the transient one.
    const kind: FeedbackKind =
      action === "failed"
        ? status.startsWith("4")
          ? "delay"
          : "bounce"
        : action === "delayed"
          ? "delay"
          : "delivered";
    const detail = [status, diagnostic].filter(Boolean).join(": ") || `action ${action || "unknown"}`;
    return [{ kind, email, subscriberId: orig.subscriberId, detail: detail.slice(0, 300) }];
  });
}

// RFC 5965 types; "not-spam" reverses nothing here, and RFC 6591 "auth-failure" reports are
// about the sender's DKIM/SPF, not the reader.
const NOT_COMPLAINTS = new Set(["not-spam", "auth-failure"]);

function feedbackReport(body: string, orig: { subscriberId?: string; to?: string }): FeedbackEntry[] {
  const fields = fieldGroups(body)[0] ?? new Map<string, string[]>();
  const type = (first(fields, "feedback-type") ?? "abuse").toLowerCase();
  const kind: FeedbackKind = NOT_COMPLAINTS.has(type) ? "not-spam" : "complaint";
  const detail =
    `feedback-type ${type}${first(fields, "user-agent") ? ` from ${first(fields, "user-agent")}` : ""}`.slice(0, 300);
  const named = (fields.get("original-rcpt-to") ?? []).map(addressIn).filter((a): a is string => !!a);
  const emails = named.length ? named : orig.to ? [orig.to] : [];
  if (emails.length === 0) return orig.subscriberId ? [{ kind, subscriberId: orig.subscriberId, detail }] : [];
  return emails.map((email) => ({ kind, email, subscriberId: orig.subscriberId, detail }));
}

/** What applying a report takes of the runtime: the subscriber service and the metrics. */
export type FeedbackDeps = SubscriberDeps & Pick<Runtime, "log">;

/** Suppresses the readers a report names: bounced or complained; the rest is reported only. */
export async function applyFeedback(rt: FeedbackDeps, feedback: Feedback): Promise<FeedbackOutcome[]> {
  const service = new SubscriberService(rt);
  const outcomes: FeedbackOutcome[] = [];
  for (const e of feedback.entries) {
    const s =
      (e.email ? await service.store.byEmail(e.email) : null) ??
      (e.subscriberId ? await service.store.get(e.subscriberId) : null);
    if (!s) {
      outcomes.push({ ...e, outcome: "unknown" });
      continue;
    }
    const to = e.kind === "bounce" ? "bounced" : e.kind === "complaint" ? "complained" : null;
    if (!to) {
      outcomes.push({ ...e, email: s.email, outcome: "ignored", status: s.status });
      continue;
    }
    if (s.status === to) {
      outcomes.push({ ...e, email: s.email, outcome: "unchanged", status: s.status });
      continue;
    }
    await service.suppress(s.id, to, `${e.kind === "bounce" ? "bounce report" : "complaint"}: ${e.detail}`);
    await countStat(rt, to === "bounced" ? "herald_emails_bounced_total" : "herald_emails_complained_total");
    outcomes.push({ ...e, email: s.email, outcome: to, status: to });
  }
  return outcomes;
}

/** Reads and applies one report, with MAIL_FROM's domain as the one Message-IDs are trusted from. */
export async function processFeedback(
  rt: FeedbackDeps,
  raw: Buffer,
): Promise<{ report: Feedback["report"]; outcomes: FeedbackOutcome[] }> {
  const feedback = await readFeedback(raw, senderDomain(rt.config.mailFrom));
  return { report: feedback.report, outcomes: await applyFeedback(rt, feedback) };
}

/** One line per outcome, for the CLI. */
export function describeOutcome(o: FeedbackOutcome): string {
  const who = o.email ?? o.subscriberId ?? "?";
  switch (o.outcome) {
    case "bounced":
    case "complained":
      return `${o.outcome} ${who} (${o.detail})`;
    case "unchanged":
      return `unchanged ${who}: already ${o.status}`;
    case "unknown":
      return `unknown ${who}: not a subscriber; nothing changed`;
    case "ignored":
      return `ignored ${who}: ${o.kind === "not-spam" ? "not a complaint" : o.kind} (${o.detail}); still ${o.status}`;
  }
}
