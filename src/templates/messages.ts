// The four emails: alert (one release), digest (several, grouped), correction notice and
// confirmation. Each builds MJML and a plain-text part from the same data (never by scraping
// the HTML), renders MJML once, and leaves slots for what differs per reader.
import { releasePageUrl } from "../vocabulary.ts";
import type { Release } from "../releases/model.ts";
import { escapeHtml } from "../releases/sanitize.ts";
import type { DigestFrequency, Language } from "../subscribers/model.ts";
import { mjmlFrame, textFrame } from "./layout.ts";
import { type Brand, facetLabelIn, headerSafe, orgNameIn, type RenderedMessage, renderMjml, Slots } from "./render.ts";
import { MAIL_STRINGS, type MailStrings } from "./strings.ts";

export type ReleaseItem = Pick<Release, "id" | "title" | "summary" | "dateline" | "publishedAt" | "url" | "topics" | "regions">;

/**
 * Where every mention of a release in a mail links: its page on PUBLIC_URL (`r` is already the
 * version in the reader's language), which always answers, unlike the release's own `url`
 * (optional, and often the organisation's site root).
 */
function pageOf(brand: Brand, r: Pick<Release, "id">): string {
  return releasePageUrl(brand.publicUrl, r.id);
}

function headline(brand: Brand, r: ReleaseItem, style: string): string {
  return `<a href="${escapeHtml(pageOf(brand, r))}" style="${style}">${escapeHtml(r.title)}</a>`;
}

function datelineHtml(r: ReleaseItem, slots: Slots): string {
  const date = slots.date(Date.parse(r.publishedAt));
  return `<span style="color:#555555;font-size:13px">${r.dateline ? `${escapeHtml(r.dateline)} — ` : ""}${date}</span>`;
}

function datelineText(r: ReleaseItem, slots: Slots): string {
  const date = slots.date(Date.parse(r.publishedAt));
  return `${r.dateline ? `${r.dateline} — ` : ""}${date}`;
}

/** "Topics: Health · Regions: Djibouti", labels in the reader's language; empty without any. */
function facetsLine(brand: Brand, lang: Language, t: MailStrings, r: Pick<Release, "topics" | "regions">): string {
  const part = (kind: "topics" | "regions", slugs: string[]) =>
    slugs.length ? `${t[kind]}${t.colon} ${slugs.map((s) => facetLabelIn(brand, kind, s, lang)).join(", ")}` : "";
  return [part("topics", r.topics), part("regions", r.regions)].filter(Boolean).join(" · ");
}

async function finish(slots: Slots, subject: string, mjml: string, text: string): Promise<RenderedMessage> {
  return { subject: headerSafe(subject, 250), html: await renderMjml(mjml), text, nonce: slots.nonce, dates: slots.dates };
}

/** One release, in full: the immediate alert. */
export async function renderAlert(brand: Brand, lang: Language, r: Release): Promise<RenderedMessage> {
  const t = MAIL_STRINGS[lang];
  const slots = new Slots();
  const facets = facetsLine(brand, lang, t, r);
  const page = pageOf(brand, r);
  const more = `<mj-button href="${escapeHtml(page)}">${escapeHtml(t.readMore)}</mj-button>`;
  const image = r.image
    ? `<mj-image src="${escapeHtml(r.image.url)}" alt="${escapeHtml(r.image.alt)}" href="${escapeHtml(page)}" padding="8px 25px" />`
    : "";
  const contacts = r.contacts.length
    ? `<mj-text font-size="13px"><strong>${escapeHtml(t.contacts)}</strong><br />${r.contacts
        .map((c) => escapeHtml([c.name, c.office, c.phone, c.email].filter(Boolean).join(", ")))
        .join("<br />")}</mj-text>`
    : "";
  const sections = `    <mj-section background-color="#ffffff" padding="0 24px 16px"><mj-column>
      <mj-text font-size="22px" font-weight="bold" line-height="1.3">${headline(brand, r, "color:#222222;text-decoration:none")}</mj-text>
      <mj-text>${datelineHtml(r, slots)}</mj-text>
      ${image}
      ${facets ? `<mj-text font-size="13px" color="#555555" padding-top="0">${escapeHtml(facets)}</mj-text>` : ""}
      ${r.summary ? `<mj-text font-style="italic">${escapeHtml(r.summary)}</mj-text>` : ""}
      <mj-text>${r.bodyHtml}</mj-text>
      ${contacts}
      ${more}
    </mj-column></mj-section>`;
  const mjml = mjmlFrame(brand, t, slots, { lang, title: r.title, preview: r.summary ?? r.title, sections, manageLinks: true });
  const text = textFrame(brand, t, slots, true, [
    r.title,
    page,
    datelineText(r, slots),
    ...(facets ? [facets] : []),
    "",
    ...(r.summary ? [r.summary, ""] : []),
    r.bodyText,
    ...(r.contacts.length ? ["", `${t.contacts}${t.colon}`, ...r.contacts.map((c) => `- ${[c.name, c.office, c.phone, c.email].filter(Boolean).join(", ")}`)] : []),
    "",
    `${t.readMore}${t.colon} ${page}`,
  ], lang);
  return finish(slots, t.alertSubject(r.title), mjml, text);
}

/** A short notice to readers who got an earlier revision of `r`. */
export async function renderCorrection(brand: Brand, lang: Language, r: Release): Promise<RenderedMessage> {
  const t = MAIL_STRINGS[lang];
  const slots = new Slots();
  const page = pageOf(brand, r);
  const sections = `    <mj-section background-color="#ffffff" padding="0 24px 16px"><mj-column>
      <mj-text>${escapeHtml(t.correctionIntro)}</mj-text>
      <mj-text font-size="18px" font-weight="bold">${headline(brand, r, "color:#222222;text-decoration:none")}</mj-text>
      <mj-text>${datelineHtml(r, slots)}</mj-text>
      ${r.correction ? `<mj-text><strong>${escapeHtml(`${t.correctionNote}${t.colon}`)}</strong> ${escapeHtml(r.correction)}</mj-text>` : ""}
      <mj-button href="${escapeHtml(page)}">${escapeHtml(t.readMore)}</mj-button>
    </mj-column></mj-section>`;
  const mjml = mjmlFrame(brand, t, slots, { lang, title: t.correctionSubject(r.title), preview: r.correction ?? r.title, sections, manageLinks: true });
  const text = textFrame(brand, t, slots, true, [
    t.correctionIntro,
    "",
    r.title,
    page,
    datelineText(r, slots),
    ...(r.correction ? ["", `${t.correctionNote}${t.colon} ${r.correction}`] : []),
    "",
    `${t.readMore}${t.colon} ${page}`,
  ], lang);
  return finish(slots, t.correctionSubject(r.title), mjml, text);
}

/**
 * Groups by first topic (else first region), headed by its label in the reader's language;
 * groups in label order (that language's collation), "other" last.
 */
export function groupItems(items: ReleaseItem[], other: string, brand?: Brand, lang: string = "en"): { heading: string; items: ReleaseItem[] }[] {
  const groups = new Map<string, { heading: string; items: ReleaseItem[] }>();
  for (const r of items) {
    const kind = r.topics[0] ? "topics" : "regions";
    const slug = r.topics[0] ?? r.regions[0] ?? "";
    const key = slug ? `${kind}/${slug}` : "";
    const heading = slug ? facetLabelIn(brand, kind, slug, lang) : other;
    const g = groups.get(key) ?? { heading, items: [] };
    g.items.push(r);
    groups.set(key, g);
  }
  const collator = new Intl.Collator(lang);
  return [...groups.entries()]
    .sort(([a, ga], [b, gb]) => (a === "" ? 1 : b === "" ? -1 : collator.compare(ga.heading, gb.heading)))
    .map(([, g]) => g);
}

export async function renderDigest(brand: Brand, lang: Language, frequency: DigestFrequency, items: ReleaseItem[]): Promise<RenderedMessage> {
  const t = MAIL_STRINGS[lang];
  const slots = new Slots();
  const groups = groupItems(items, t.other, brand, lang);
  const html: string[] = [];
  const text: string[] = [t.digestIntro(frequency, items.length)];
  for (const g of groups) {
    html.push(`    <mj-section background-color="#ffffff" padding="8px 24px 0"><mj-column>
      <mj-text font-size="13px" font-weight="bold" color="${brand.color}" text-transform="uppercase" padding-bottom="0">${escapeHtml(g.heading)}</mj-text>
      <mj-divider border-width="1px" border-color="#dddddd" />`);
    text.push("", g.heading.toLocaleUpperCase(lang), "");
    for (const r of g.items) {
      const page = pageOf(brand, r);
      html.push(`      <mj-text padding-bottom="0">${headline(brand, r, "color:#222222;font-size:17px;font-weight:bold;text-decoration:none")}</mj-text>
      <mj-text padding-top="2px" padding-bottom="0">${datelineHtml(r, slots)}</mj-text>
      ${r.summary ? `<mj-text padding-top="4px" padding-bottom="0">${escapeHtml(r.summary)}</mj-text>` : ""}
      <mj-text padding-top="4px"><a href="${escapeHtml(page)}" style="color:${brand.color}">${escapeHtml(t.readMore)} →</a></mj-text>`);
      text.push(`* ${r.title}`, `  ${datelineText(r, slots)}`);
      if (r.summary) text.push(`  ${r.summary}`);
      text.push(`  ${t.readMore}${t.colon} ${page}`);
      text.push("");
    }
    html.push("    </mj-column></mj-section>");
  }
  const intro = `    <mj-section background-color="#ffffff" padding="0 24px"><mj-column><mj-text>${escapeHtml(t.digestIntro(frequency, items.length))}</mj-text></mj-column></mj-section>\n`;
  const subject = t.digestSubject(frequency, items.length, orgNameIn(brand, lang));
  const mjml = mjmlFrame(brand, t, slots, { lang, title: subject, preview: items.map((r) => r.title).join(" · "), sections: intro + html.join("\n"), manageLinks: true });
  return finish(slots, subject, mjml, textFrame(brand, t, slots, true, text, lang));
}

export async function renderConfirmation(brand: Brand, lang: Language): Promise<RenderedMessage> {
  const t = MAIL_STRINGS[lang];
  const org = orgNameIn(brand, lang);
  const slots = new Slots();
  const sections = `    <mj-section background-color="#ffffff" padding="0 24px 16px"><mj-column>
      <mj-text>${escapeHtml(t.confirmIntro(org))}</mj-text>
      <mj-button href="${slots.slot("confirm")}">${escapeHtml(t.confirmButton)}</mj-button>
      <mj-text font-size="13px" color="#555555">${escapeHtml(t.confirmIgnore)}</mj-text>
    </mj-column></mj-section>`;
  const subject = t.confirmSubject(org);
  const mjml = mjmlFrame(brand, t, slots, { lang, title: subject, preview: t.confirmIntro(org), sections, manageLinks: false });
  const text = textFrame(brand, t, slots, false, [t.confirmIntro(org), "", `${t.confirmButton}${t.colon} ${slots.slot("confirm")}`, "", t.confirmIgnore], lang);
  return finish(slots, subject, mjml, text);
}
