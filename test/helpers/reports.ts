// Bounce reports (RFC 3464) and complaints (RFC 5965) as mail servers and feedback loops send
// them, built around a message Herald sent (or just its headers), for the feedback tests.
export interface RecipientStatus {
  final: string;
  original?: string;
  action: "failed" | "delayed" | "delivered" | "relayed";
  status: string;
  diagnostic?: string;
}

const CRLF = "\r\n";

/** A multipart/report DSN; `returned` is the original message or its header block. */
export function dsn(
  recipients: RecipientStatus[],
  returned: string,
  opts: { headersOnly?: boolean; base64Status?: boolean; eol?: string } = {},
): string {
  const eol = opts.eol ?? CRLF;
  const perMessage = ["Reporting-MTA: dns; mx.example.net", "Arrival-Date: Sat, 28 Nov 2026 10:00:02 +0000"].join(eol);
  const perRecipient = recipients.map((r) =>
    [
      `Final-Recipient: rfc822; ${r.final}`,
      ...(r.original ? [`Original-Recipient: rfc822;${r.original}`] : []),
      `Action: ${r.action}`,
      `Status: ${r.status}`,
      "Remote-MTA: dns; mail.example.net",
      ...(r.diagnostic ? [`Diagnostic-Code: smtp; ${r.diagnostic}`] : []),
    ].join(eol),
  );
  const status = [perMessage, ...perRecipient].join(eol + eol) + eol;
  return [
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>",
    "To: news@iom.example",
    "Subject: Undelivered Mail Returned to Sender",
    "Date: Sat, 28 Nov 2026 10:00:03 +0000",
    "MIME-Version: 1.0",
    "Content-Type: multipart/report; report-type=delivery-status;",
    '\tboundary="=_dsn_1"',
    "",
    "--=_dsn_1",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "This is the mail system at host mx.example.net. Your message could not be delivered.",
    "",
    "--=_dsn_1",
    "Content-Type: message/delivery-status",
    ...(opts.base64Status
      ? [
          "Content-Transfer-Encoding: base64",
          "",
          ...(Buffer.from(status)
            .toString("base64")
            .match(/.{1,76}/g) ?? []),
        ]
      : ["", status]),
    "--=_dsn_1",
    opts.headersOnly ? "Content-Type: text/rfc822-headers" : "Content-Type: message/rfc822",
    "",
    opts.headersOnly ? returned.split(/\r?\n\r?\n/)[0]! : returned,
    "--=_dsn_1--",
    "",
  ].join(eol);
}

/** An ARF feedback-loop report; `returned` is the original message (often with To redacted). */
export function arf(returned: string, opts: { type?: string; originalRcptTo?: string } = {}): string {
  return [
    "From: Feedback Loop <fbl@isp.example.com>",
    "To: fbl@iom.example",
    "Subject: Email Feedback Report",
    "Date: Sat, 28 Nov 2026 11:00:00 +0000",
    "MIME-Version: 1.0",
    'Content-Type: multipart/report; report-type=feedback-report; boundary="arf-part"',
    "",
    "--arf-part",
    "Content-Type: text/plain",
    "",
    "This is an email abuse report.",
    "",
    "--arf-part",
    "Content-Type: message/feedback-report",
    "",
    `Feedback-Type: ${opts.type ?? "abuse"}`,
    "User-Agent: ISP-FBL/2.0",
    "Version: 1",
    ...(opts.originalRcptTo ? [`Original-Rcpt-To: ${opts.originalRcptTo}`] : []),
    "Arrival-Date: Sat, 28 Nov 2026 10:00:01 +0000",
    "",
    "--arf-part",
    "Content-Type: message/rfc822",
    "Content-Disposition: inline",
    "",
    returned,
    "--arf-part--",
    "",
  ].join(CRLF);
}

/** A message Herald might have sent (the shape of mail/message.ts), with To replaceable. */
export function sentMessage(to: string, messageId: string): string {
  return [
    "From: IOM News <news@iom.example>",
    `To: ${to}`,
    "Subject: New release",
    `Message-ID: ${messageId}`,
    "Date: Sat, 28 Nov 2026 10:00:00 +0000",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Hello.",
    "",
  ].join(CRLF);
}
