// Per-reader values into a segment's rendered message: a string substitution, no MJML. HTML
// gets escaped values; the text part gets them as they are (names cannot hold line breaks:
// see the subscriber model).
import { formatDate } from "../clock.ts";
import { escapeHtml } from "../releases/sanitize.ts";
import type { Language } from "../subscribers/model.ts";
import type { RenderedMessage } from "./render.ts";
import { MAIL_STRINGS } from "./strings.ts";

export interface Reader {
  name?: string;
  language: Language;
  timezone: string;
  unsubscribeUrl?: string;
  preferencesUrl?: string;
  confirmUrl?: string;
}

export function personalise(m: RenderedMessage, reader: Reader): { subject: string; html: string; text: string } {
  const values: Record<string, string> = {
    greeting: MAIL_STRINGS[reader.language].greeting(reader.name),
    unsubscribe: reader.unsubscribeUrl ?? "",
    preferences: reader.preferencesUrl ?? "",
    confirm: reader.confirmUrl ?? "",
  };
  m.dates.forEach((ms, i) => {
    values[`d${i}`] = formatDate(ms, reader.language, reader.timezone);
  });
  const re = new RegExp(`HX${m.nonce}X([a-z0-9]+)X`, "g");
  return {
    subject: m.subject,
    html: m.html.replace(re, (_, k: string) => escapeHtml(values[k] ?? "")),
    text: m.text.replace(re, (_, k: string) => values[k] ?? ""),
  };
}
