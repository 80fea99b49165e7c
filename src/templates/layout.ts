// The frame every email shares: brand header, the content, and a footer with the reader's
// links. Pure: data in, MJML and plain text out.
import { escapeHtml } from "../releases/sanitize.ts";
import type { MailStrings } from "../i18n/mail.ts";
import { type Brand, orgNameIn, type Slots } from "./render.ts";

export interface Frame {
  lang: string;
  title: string;
  preview: string;
  /** MJML sections of the content. */
  sections: string;
  /** Manage links in the footer (not for a confirmation: the reader is not subscribed yet). */
  manageLinks: boolean;
}

/** Why the reader gets this mail: a subscriber subscribed; a confirmation's reader has not yet. */
function footerLine(brand: Brand, t: MailStrings, lang: string, manageLinks: boolean): string {
  const org = orgNameIn(brand, lang);
  return manageLinks ? t.footer(org) : t.confirmFooter(org);
}

export function mjmlFrame(brand: Brand, t: MailStrings, slots: Slots, f: Frame): string {
  const org = orgNameIn(brand, f.lang);
  const header = brand.logoUrl
    ? `<mj-image src="${escapeHtml(brand.logoUrl)}" alt="${escapeHtml(org)}" width="180px" align="left" padding="0" />`
    : `<mj-text font-size="20px" font-weight="bold" color="#ffffff" padding="0">${escapeHtml(org)}</mj-text>`;
  const links = f.manageLinks
    ? `<a href="${slots.slot("preferences")}" style="color:#555555">${escapeHtml(t.preferences)}</a> · <a href="${slots.slot("unsubscribe")}" style="color:#555555">${escapeHtml(t.unsubscribe)}</a>`
    : "";
  // The preheader (what a mail client shows after the subject in the inbox) is the first text of
  // the mail, visible and readable: mj-preview would render it as hidden 1px white text, which
  // spam filters score (SpamAssassin HTML_FONT_LOW_CONTRAST) and screen readers skip or misread.
  return `<mjml lang="${f.lang}">
  <mj-head>
    <mj-title>${escapeHtml(f.title)}</mj-title>
    <mj-attributes>
      <mj-all font-family="Helvetica, Arial, sans-serif" />
      <mj-text font-size="15px" line-height="1.5" color="#222222" />
      <mj-button background-color="${brand.color}" color="#ffffff" font-size="15px" align="left" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f4f4">
    <mj-section padding="8px 24px"><mj-column><mj-text font-size="13px" line-height="1.4" color="#444444" padding="0">${escapeHtml(preheader(f.preview))}</mj-text></mj-column></mj-section>
    <mj-section background-color="${brand.color}" padding="16px 24px"><mj-column>${header}</mj-column></mj-section>
    <mj-section background-color="#ffffff" padding="8px 24px 0"><mj-column><mj-text>${slots.slot("greeting")}</mj-text></mj-column></mj-section>
${f.sections}
    <mj-section padding="16px 24px"><mj-column>
      <mj-text font-size="12px" color="#555555">${escapeHtml(footerLine(brand, t, f.lang, f.manageLinks))}<br />${links}</mj-text>
    </mj-column></mj-section>
  </mj-body>
</mjml>`;
}

/** How many characters of the preview line are kept (about what inboxes show). */
export const PREHEADER_MAX = 140;

/** The preview line: one line, cut at a word near PREHEADER_MAX characters. */
export function preheader(s: string, max = PREHEADER_MAX): string {
  const line = s.replace(/\s+/g, " ").trim();
  if (line.length <= max) return line;
  const cut = line.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function textFrame(
  brand: Brand,
  t: MailStrings,
  slots: Slots,
  manageLinks: boolean,
  body: string[],
  lang: string,
): string {
  const footer = [footerLine(brand, t, lang, manageLinks)];
  if (manageLinks)
    footer.push(
      `${t.preferences}${t.colon} ${slots.slot("preferences")}`,
      `${t.unsubscribe}${t.colon} ${slots.slot("unsubscribe")}`,
    );
  return [slots.slot("greeting"), "", ...body, "", "--", ...footer, ""].join("\n");
}
