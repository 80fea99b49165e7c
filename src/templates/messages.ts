// The four emails: alert (one release), digest (several, grouped), correction notice and
// confirmation. Each builds MJML and a plain-text part from the same data (never by scraping
// the HTML), renders MJML once, and leaves slots for what differs per reader.
import { createHash, randomBytes } from "node:crypto";
import { releasePageUrl } from "../vocabulary.ts";
import type { Release } from "../releases/model.ts";
import { escapeHtml } from "../releases/sanitize.ts";
import type { DigestFrequency } from "../subscribers/model.ts";
import { LANGUAGES, type Language } from "../i18n/languages.ts";
import { mjmlFrame, PREHEADER_MAX, preheader, textFrame } from "./layout.ts";
import {
  assembledMessage,
  type Brand,
  facetLabelIn,
  headerSafe,
  orgNameIn,
  type RenderedMessage,
  renderMjml,
  Slots,
} from "./render.ts";
import { MAIL_STRINGS, type MailStrings } from "../i18n/mail.ts";

export type ReleaseItem = Pick<
  Release,
  "id" | "title" | "summary" | "dateline" | "publishedAt" | "url" | "topics" | "regions"
>;

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
  return {
    subject: headerSafe(subject, 250),
    html: await renderMjml(mjml),
    text,
    nonce: slots.nonce,
    dates: slots.dates,
  };
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
  const mjml = mjmlFrame(brand, t, slots, {
    lang,
    title: r.title,
    preview: r.summary ?? r.title,
    sections,
    manageLinks: true,
  });
  const text = textFrame(
    brand,
    t,
    slots,
    true,
    [
      r.title,
      page,
      datelineText(r, slots),
      ...(facets ? [facets] : []),
      "",
      ...(r.summary ? [r.summary, ""] : []),
      r.bodyText,
      ...(r.contacts.length
        ? [
            "",
            `${t.contacts}${t.colon}`,
            ...r.contacts.map((c) => `- ${[c.name, c.office, c.phone, c.email].filter(Boolean).join(", ")}`),
          ]
        : []),
      "",
      `${t.readMore}${t.colon} ${page}`,
    ],
    lang,
  );
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
  const mjml = mjmlFrame(brand, t, slots, {
    lang,
    title: t.correctionSubject(r.title),
    preview: r.correction ?? r.title,
    sections,
    manageLinks: true,
  });
  const text = textFrame(
    brand,
    t,
    slots,
    true,
    [
      t.correctionIntro,
      "",
      r.title,
      page,
      datelineText(r, slots),
      ...(r.correction ? ["", `${t.correctionNote}${t.colon} ${r.correction}`] : []),
      "",
      `${t.readMore}${t.colon} ${page}`,
    ],
    lang,
  );
  return finish(slots, t.correctionSubject(r.title), mjml, text);
}

/** One collator per language: making one costs more than grouping a digest's items with it. */
const collators = new Map<string, Intl.Collator>();
function collatorOf(lang: string): Intl.Collator {
  let c = collators.get(lang);
  if (!c) {
    c = new Intl.Collator(lang);
    collators.set(lang, c);
  }
  return c;
}

/**
 * Groups by first topic (else first region), headed by its label in the reader's language;
 * groups in label order (that language's collation), "other" last.
 */
export function groupItems(
  items: ReleaseItem[],
  other: string,
  brand?: Brand,
  lang: string = "en",
): { heading: string; items: ReleaseItem[] }[] {
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
  const collator = collatorOf(lang);
  return [...groups.entries()]
    .sort(([a, ga], [b, gb]) => (a === "" ? 1 : b === "" ? -1 : collator.compare(ga.heading, gb.heading)))
    .map(([, g]) => g);
}

/** What a release shows in a digest's rows, as HTML. */
interface ItemValues {
  page: string;
  title: string;
  /** The dateline and its dash, or nothing. */
  dateline: string;
  summary?: string;
}

function itemValues(brand: Brand, r: ReleaseItem): ItemValues {
  return {
    page: escapeHtml(pageOf(brand, r)),
    title: escapeHtml(r.title),
    dateline: r.dateline ? `${escapeHtml(r.dateline)} — ` : "",
    ...(r.summary ? { summary: escapeHtml(r.summary) } : {}),
  };
}

/** The MJML of one release in a digest: its rows inside the group's column. `date` is where its date goes. */
function itemRowsMjml(brand: Brand, t: MailStrings, v: ItemValues, date: string): string {
  return `      <mj-text padding-bottom="0"><a href="${v.page}" style="color:#222222;font-size:17px;font-weight:bold;text-decoration:none">${v.title}</a></mj-text>
      <mj-text padding-top="2px" padding-bottom="0"><span style="color:#555555;font-size:13px">${v.dateline}${date}</span></mj-text>
      ${v.summary !== undefined ? `<mj-text padding-top="4px" padding-bottom="0">${v.summary}</mj-text>` : ""}
      <mj-text padding-top="4px"><a href="${v.page}" style="color:${brand.color}">${escapeHtml(t.readMore)} →</a></mj-text>`;
}

function digestItemMjml(brand: Brand, t: MailStrings, r: ReleaseItem, date: string): string {
  return itemRowsMjml(brand, t, itemValues(brand, r), date);
}

/** The opening of a group's section, up to and including its divider; `heading` is HTML. */
function digestGroupOpen(brand: Brand, heading: string): string {
  return `    <mj-section background-color="#ffffff" padding="8px 24px 0"><mj-column>
      <mj-text font-size="13px" font-weight="bold" color="${brand.color}" text-transform="uppercase" padding-bottom="0">${heading}</mj-text>
      <mj-divider border-width="1px" border-color="#dddddd" />`;
}
const GROUP_CLOSE = "    </mj-column></mj-section>";

function digestIntroMjml(intro: string): string {
  return `    <mj-section background-color="#ffffff" padding="0 24px"><mj-column><mj-text>${intro}</mj-text></mj-column></mj-section>\n`;
}

/** A release's lines in a digest's text, around its date: the same in every digest that holds it. */
function itemText(brand: Brand, t: MailStrings, r: ReleaseItem): [string, string] {
  const before = `\n* ${r.title}\n  ${r.dateline ? `${r.dateline} — ` : ""}`;
  const after = `${r.summary ? `\n  ${r.summary}` : ""}\n  ${t.readMore}${t.colon} ${pageOf(brand, r)}\n`;
  return [before, after];
}

/** The text frame (textFrame) of a digest, split where its body goes. */
function digestTextFrame(brand: Brand, lang: Language, t: MailStrings, slots: Slots): [string, string] {
  const [head, tail] = textFrame(brand, t, slots, true, [mark("body")], lang).split(mark("body"));
  return [head!, tail!];
}

/**
 * The plain-text part of a digest (built from the data, never from the HTML), in pieces: the
 * frame around the intro, a heading per group and each release's lines with its date (`lines`).
 * Joined, they are textFrame's lines: intro, then per group "", heading, "", and per release
 * "* title", "  dateline — date", "  summary", "  read more: page", "".
 */
function digestText(
  lang: Language,
  t: MailStrings,
  frequency: DigestFrequency,
  groups: { heading: string; items: ReleaseItem[] }[],
  count: number,
  frame: [string, string],
  lines: (r: ReleaseItem) => string[],
): string[] {
  const out: string[] = [frame[0], t.digestIntro(frequency, count)];
  for (const g of groups) {
    out.push(`\n\n${g.heading.toLocaleUpperCase(lang)}\n`);
    for (const r of g.items) out.push(...lines(r));
  }
  out.push(frame[1]);
  return out;
}

/**
 * A digest as one MJML document, rendered whole: the reference the assembled digest is tested
 * against (test/unit/digest-assembly.test.ts), and the fallback when assembly cannot be used.
 */
export async function renderDigestFull(
  brand: Brand,
  lang: Language,
  frequency: DigestFrequency,
  items: ReleaseItem[],
): Promise<RenderedMessage> {
  const t = MAIL_STRINGS[lang];
  const slots = new Slots();
  const groups = groupItems(items, t.other, brand, lang);
  const html: string[] = [];
  for (const g of groups) {
    html.push(digestGroupOpen(brand, escapeHtml(g.heading)));
    for (const r of g.items) html.push(digestItemMjml(brand, t, r, slots.date(Date.parse(r.publishedAt))));
    html.push(GROUP_CLOSE);
  }
  const subject = t.digestSubject(frequency, items.length, orgNameIn(brand, lang));
  const mjml = mjmlFrame(brand, t, slots, {
    lang,
    title: subject,
    preview: items.map((r) => r.title).join(" · "),
    sections: digestIntroMjml(escapeHtml(t.digestIntro(frequency, items.length))) + html.join("\n"),
    manageLinks: true,
  });
  const frame = digestTextFrame(brand, lang, t, slots);
  const text = digestText(lang, t, frequency, groups, items.length, frame, (r) => {
    const [before, after] = itemText(brand, t, r);
    return [before, slots.date(Date.parse(r.publishedAt)), after];
  });
  return finish(slots, subject, mjml, text.join(""));
}

// Render per release, assemble per segment. A digest is the layout (head, brand header, greeting,
// intro, footer) around groups of releases; MJML compiles each piece once and a segment's HTML is
// their concatenation. The layout is compiled once per brand and language with markers where the
// title, preview, intro and the groups go, split at the markers. A release's rows are the same
// MJML for every release but for its values (page, title, dateline, summary), which MJML copies
// as they are (an mj-text's content is HTML it does not parse, only trims): they are compiled
// once per brand and language with markers where the values go (an item template, with or without
// the summary's row), and each release's rows are the template with its escaped values put in,
// kept per release object, so a new revision, language or brand is a new entry and nothing stale
// can be served. MJML renders a column's rows one after the other with the same text between
// them, whatever their neighbours: concatenating compiled rows gives the bytes MJML gives for the
// whole (checked against renderDigestFull in the tests). Any compiled piece that does not have the
// expected shape makes renderDigest render the whole digest.
const MARK = randomBytes(6).toString("hex");
const mark = (name: string) => `HZ${MARK}Z${name}Z`;
const LAYOUT_NONCE = randomBytes(6).toString("hex");

interface DigestLayout {
  /** Up to the first heading: static text at even indices, at odd ones the marker it was split at (title, preview, intro). */
  head: string[];
  /** From a heading to its group's first row. */
  open: string;
  /** From a group's last row to the next group's heading. */
  between: string;
  tail: string;
  /** The text frame around a digest's text body (digestTextFrame). */
  text: [string, string];
}

const layouts = new Map<string, DigestLayout | null>();
/** MJML compiles of layouts and item templates; releases whose rows were filled in from a template, or found filled. */
export const assemblyStats = {
  layoutCompiles: 0,
  templateCompiles: 0,
  itemFills: 0,
  itemHits: 0,
  assembled: 0,
  wholeRenders: 0,
};

function hashOf(s: string): string {
  return createHash("sha1").update(s).digest("base64");
}

/** The end of the `</tr>` row that holds `at`, and where that row's text begins (after the previous row). */
function rowAround(html: string, at: number): [number, number] | null {
  const start = html.lastIndexOf("</tr>", at);
  const end = html.indexOf("</tr>", at);
  return start < 0 || end < 0 ? null : [start + 5, end + 5];
}

/**
 * The layout by brand object and language: a part assembles hundreds of segments with one brand,
 * and building the layout's MJML to look it up by hash cost more than assembling a small digest.
 */
const layoutsByBrand = new WeakMap<Brand, Map<Language, Promise<DigestLayout | null>>>();
function digestLayout(brand: Brand, lang: Language, t: MailStrings): Promise<DigestLayout | null> {
  let byLang = layoutsByBrand.get(brand);
  if (!byLang) {
    byLang = new Map();
    layoutsByBrand.set(brand, byLang);
  }
  let layout = byLang.get(lang);
  if (!layout) {
    layout = compiledLayout(brand, lang, t);
    // A failed compile is not kept: the next digest tries again.
    layout.catch(() => byLang.delete(lang));
    byLang.set(lang, layout);
  }
  return layout;
}

async function compiledLayout(brand: Brand, lang: Language, t: MailStrings): Promise<DigestLayout | null> {
  const slots = new Slots(LAYOUT_NONCE);
  const row = (name: string) => `      <mj-text>${mark(name)}</mj-text>`;
  const sections = `${digestIntroMjml(mark("intro"))}${digestGroupOpen(brand, mark("h1"))}\n${row("i1")}\n${GROUP_CLOSE}\n${digestGroupOpen(brand, mark("h2"))}\n${row("i2")}\n${GROUP_CLOSE}`;
  const mjml = mjmlFrame(brand, t, slots, {
    lang,
    title: mark("title"),
    preview: mark("preview"),
    sections,
    manageLinks: true,
  });
  const key = hashOf(mjml);
  if (layouts.has(key)) return layouts.get(key)!;
  assemblyStats.layoutCompiles += 1;
  const html = await renderMjml(mjml);
  const at = (name: string) => html.indexOf(mark(name));
  const once = (name: string) => at(name) >= 0 && html.indexOf(mark(name), at(name) + 1) < 0;
  const names = ["h1", "i1", "h2", "i2"];
  const pos = names.map(at);
  const i1 = rowAround(html, at("i1"));
  const i2 = rowAround(html, at("i2"));
  let layout: DigestLayout | null = null;
  if (names.every(once) && pos.every((p, i) => i === 0 || p > pos[i - 1]!) && i1 && i2) {
    const end = (name: string) => at(name) + mark(name).length;
    // MJML may repeat the title (an aria-label): the head is split at every marker it holds.
    const head = html.slice(0, at("h1")).split(new RegExp(`HZ${MARK}Z([a-z0-9]+)Z`));
    const open = html.slice(end("h1"), i1[0]);
    const known = head.every((p, i) => i % 2 === 0 || ["title", "preview", "intro"].includes(p));
    if (
      known &&
      open === html.slice(end("h2"), i2[0]) &&
      !html.slice(i1[1], at("h2")).includes(`HZ${MARK}`) &&
      !html.slice(i2[1]).includes(`HZ${MARK}`)
    ) {
      const text = digestTextFrame(brand, lang, t, slots);
      layout = { head, open, between: html.slice(i1[1], at("h2")), tail: html.slice(i2[1]), text };
    }
  }
  layouts.set(key, layout);
  return layout;
}

/** A release's digest pieces: its date, its text lines (itemText), and its compiled rows once filled in. */
interface ItemPieces {
  ms: number;
  text: [string, string];
  rows?: [string, string];
  /** Its rows and its text lines joined with its date's slot (Slots.fixedDate, the layout's nonce), once known: one piece each. */
  joined?: { html: string[]; text: string[] };
}

/**
 * A release's digest pieces by brand object, release object and language: a part plans its
 * segments from one array of candidate releases and one brand, so the same item recurs in
 * hundreds of segments (and its pieces are then the same strings in each). A different object (a
 * new revision read, another brand) is a new entry, and a brand's entries go with it.
 */
const itemPieces = new WeakMap<Brand, WeakMap<ReleaseItem, Map<Language, ItemPieces>>>();
function itemPiecesOf(brand: Brand, lang: Language, t: MailStrings, r: ReleaseItem): ItemPieces {
  let byRelease = itemPieces.get(brand);
  if (!byRelease) {
    byRelease = new WeakMap();
    itemPieces.set(brand, byRelease);
  }
  let byLang = byRelease.get(r);
  if (!byLang) {
    byLang = new Map();
    byRelease.set(r, byLang);
  }
  let known = byLang.get(lang);
  if (!known) {
    known = { ms: Date.parse(r.publishedAt), text: itemText(brand, t, r) };
    byLang.set(lang, known);
  }
  return known;
}

/** A release's rows compiled with markers for its values: static text at even indices, at odd ones the value's name. */
type ItemTemplate = string[];
const VALUES = ["page", "title", "dateline", "summary", "date"];

/** The item templates by brand object, language and whether it has a summary's row. */
const templates = new WeakMap<Brand, Map<string, Promise<ItemTemplate | null>>>();
function itemTemplate(brand: Brand, lang: Language, t: MailStrings, summary: boolean): Promise<ItemTemplate | null> {
  let byKind = templates.get(brand);
  if (!byKind) {
    byKind = new Map();
    templates.set(brand, byKind);
  }
  const key = `${lang}|${summary}`;
  let template = byKind.get(key);
  if (!template) {
    template = compiledTemplate(brand, lang, t, summary);
    template.catch(() => byKind.delete(key));
    byKind.set(key, template);
  }
  return template;
}

async function compiledTemplate(
  brand: Brand,
  lang: Language,
  t: MailStrings,
  summary: boolean,
): Promise<ItemTemplate | null> {
  assemblyStats.templateCompiles += 1;
  const values = { page: mark("page"), title: mark("title"), dateline: mark("dateline") };
  const rows = itemRowsMjml(brand, t, summary ? { ...values, summary: mark("summary") } : values, mark("date"));
  const sep = (i: number) => `      <mj-text>${mark(`s${i}`)}</mj-text>`;
  const sections = `${digestGroupOpen(brand, "x")}\n${sep(0)}\n${rows}\n${sep(1)}\n${GROUP_CLOSE}`;
  const html = await renderMjml(
    mjmlFrame(brand, t, new Slots(LAYOUT_NONCE), { lang, title: "x", preview: "x", sections, manageLinks: true }),
  );
  const a = rowAround(html, html.indexOf(mark("s0")));
  const b = rowAround(html, html.indexOf(mark("s1")));
  if (!a || !b || html.indexOf(mark("s0")) < 0 || a[1] > b[0]) return null;
  const template = html.slice(a[1], b[0]).split(new RegExp(`HZ${MARK}Z([a-z0-9]+)Z`));
  const names = template.filter((_, i) => i % 2 === 1);
  // Each value where it was put, the date once, and nothing else marked.
  const expected = ["page", "title", "dateline", "date", ...(summary ? ["summary"] : []), "page"];
  return names.join() === expected.join() && names.every((n) => VALUES.includes(n)) ? template : null;
}

/** A release's rows: its template with its values put in, split at its date. */
function filledRows(template: ItemTemplate, v: ItemValues): [string, string] {
  // MJML trims an mj-text's content, and the summary is one's whole content.
  const values: Record<string, string> = { ...v, summary: v.summary?.trim() ?? "" };
  let before = "";
  let out = "";
  template.forEach((p, i) => {
    if (i % 2 === 0) out += p;
    else if (p === "date") {
      before = out;
      out = "";
    } else out += values[p];
  });
  // Flat copies: the pieces live as long as the release is a candidate.
  return [Buffer.from(before).toString(), Buffer.from(out).toString()];
}

/**
 * A release's pieces in one digest, its rows and its text lines: joined with its date's slot, the
 * same strings in every digest (and so stored and encoded once), or around a date slot of this
 * digest's own when its date has no fixed slot.
 */
function itemParts(known: ItemPieces, rows: [string, string], slots: Slots): { html: string[]; text: string[] } {
  if (known.joined && slots.nonce === LAYOUT_NONCE) return known.joined;
  const fixed = slots.fixedDate(known.ms);
  if (!fixed || slots.nonce !== LAYOUT_NONCE) {
    const date = slots.date(known.ms);
    return { html: [rows[0], date, rows[1]], text: [known.text[0], date, known.text[1]] };
  }
  known.joined = { html: [rows[0] + fixed + rows[1]], text: [known.text[0] + fixed + known.text[1]] };
  return known.joined;
}

/** Each release's pieces (itemParts), its rows filled in from the item template the first time. */
async function digestFragments(
  brand: Brand,
  lang: Language,
  t: MailStrings,
  items: ReleaseItem[],
  slots: Slots,
): Promise<{ html: string[]; text: string[] }[] | null> {
  const out: { html: string[]; text: string[] }[] = [];
  for (const r of items) {
    const known = itemPiecesOf(brand, lang, t, r);
    if (known.rows) assemblyStats.itemHits += 1;
    else {
      const template = await itemTemplate(brand, lang, t, Boolean(r.summary));
      if (!template) return null;
      known.rows = filledRows(template, itemValues(brand, r));
      assemblyStats.itemFills += 1;
    }
    out.push(itemParts(known, known.rows, slots));
  }
  return out;
}

/**
 * The preheader of a digest's titles joined (as renderDigestFull gives mjmlFrame), from as few
 * titles as it shows: once the titles so far make a line longer than the preheader keeps, more
 * change nothing (the preheader is that line's start, cut at a word).
 */
function previewOf(items: ReleaseItem[]): string {
  let joined = "";
  for (const r of items) {
    joined = joined ? `${joined} · ${r.title}` : r.title;
    if (joined.length > PREHEADER_MAX && joined.replace(/\s+/g, " ").trimStart().length > PREHEADER_MAX) break;
  }
  return preheader(joined);
}

async function assembleDigest(
  brand: Brand,
  lang: Language,
  frequency: DigestFrequency,
  items: ReleaseItem[],
): Promise<RenderedMessage | null> {
  const t = MAIL_STRINGS[lang];
  const layout = await digestLayout(brand, lang, t);
  if (!layout) return null;
  const groups = groupItems(items, t.other, brand, lang);
  const ordered = groups.flatMap((g) => g.items);
  // The layout's nonce, so its pieces are the same in every digest (and stored and encoded once).
  // Random per process, it is as unknown to release text as a per-render one.
  const slots = new Slots(LAYOUT_NONCE);
  const pieces = await digestFragments(brand, lang, t, ordered, slots);
  if (!pieces) return null;
  const subject = t.digestSubject(frequency, items.length, orgNameIn(brand, lang));
  const values: Record<string, string> = {
    title: escapeHtml(subject),
    preview: escapeHtml(previewOf(items)),
    intro: escapeHtml(t.digestIntro(frequency, items.length)),
  };
  const out: string[] = layout.head.map((p, i) => (i % 2 === 0 ? p : values[p]!));
  let k = 0;
  groups.forEach((g, gi) => {
    if (gi > 0) out.push(layout.between);
    out.push(escapeHtml(g.heading), layout.open);
    for (let i = 0; i < g.items.length; i++) for (const p of pieces[k++]!.html) out.push(p);
  });
  out.push(layout.tail);
  k = 0;
  const text = digestText(lang, t, frequency, groups, items.length, layout.text, () => pieces[k++]!.text);
  return assembledMessage({ subject: headerSafe(subject, 250), nonce: slots.nonce, dates: slots.dates }, out, text);
}

/**
 * Compiles every language's digest layout and item templates for `brand` (what a run would
 * compile on its first segments). A worker process does it at start-up, while it is small: the
 * MJML renderer (mjml-thread.ts) is then loaded and gone before any run, not in the middle of
 * one beside thousands of messages in flight. A run with another brand (the vocabulary changed)
 * compiles its own, as before.
 */
export async function warmDigestTemplates(brand: Brand): Promise<void> {
  for (const lang of LANGUAGES) {
    const t = MAIL_STRINGS[lang];
    await digestLayout(brand, lang, t);
    await itemTemplate(brand, lang, t, false);
    await itemTemplate(brand, lang, t, true);
  }
}

/** A digest: assembled from compiled pieces (see above), or rendered whole when assembly is not possible. */
export async function renderDigest(
  brand: Brand,
  lang: Language,
  frequency: DigestFrequency,
  items: ReleaseItem[],
): Promise<RenderedMessage> {
  const assembled = await assembleDigest(brand, lang, frequency, items);
  if (assembled) {
    assemblyStats.assembled += 1;
    return assembled;
  }
  assemblyStats.wholeRenders += 1;
  return renderDigestFull(brand, lang, frequency, items);
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
  const mjml = mjmlFrame(brand, t, slots, {
    lang,
    title: subject,
    preview: t.confirmIntro(org),
    sections,
    manageLinks: false,
  });
  const text = textFrame(
    brand,
    t,
    slots,
    false,
    [t.confirmIntro(org), "", `${t.confirmButton}${t.colon} ${slots.slot("confirm")}`, "", t.confirmIgnore],
    lang,
  );
  return finish(slots, subject, mjml, text);
}
