// MJML to HTML, and the "slots" that make one render serve a whole segment: the rendered HTML
// and text hold markers like HX{nonce}XgreetingX where per-reader values (greeting, links,
// dates in the reader's zone) go; personalise.ts substitutes them. The nonce is random per
// render (per process for assembled digests, whose compiled pieces are shared: see
// messages.ts), so no release text can forge a marker.
import { randomBytes } from "node:crypto";
import { humanizeSlug, type Taxonomy } from "../releases/taxonomy.ts";
import { type MjmlOptions, mjmlThread, NoThread } from "./mjml-thread.ts";
import { templateStats } from "./stats.ts";

/** What a segment's readers share: rendered once, personalised per reader. */
export interface RenderedMessage {
  subject: string;
  html: string;
  text: string;
  nonce: string;
  /**
   * Timestamps shown as dates, in the reader's language and zone: slot t{ms} is the date at ms,
   * and d{i} is dates[i] (a timestamp that is not a whole number of ms since 1970, and messages
   * rendered before t{ms}).
   */
  dates: number[];
  /**
   * The HTML in the pieces it was assembled from (html === parts.join("")), when it was: the
   * long pieces (layout, each release's rows) recur in many segments, so they are stored once
   * (segments.ts) and encoded once (personalise.ts).
   */
  parts?: string[];
  /** The same for the text (text === textParts.join("")): a digest's intro, headings and each release's lines. */
  textParts?: string[];
}

export type SlotName = "greeting" | "unsubscribe" | "preferences" | "confirm" | `d${number}` | `t${number}`;

export class Slots {
  readonly dates: number[] = [];
  /** Random per render; a fixed one only for pieces compiled once and re-marked (messages.ts). */
  constructor(readonly nonce: string = randomBytes(6).toString("hex")) {}
  slot(name: SlotName): string {
    return `HX${this.nonce}X${name}X`;
  }
  /**
   * A slot for a date, formatted per reader. It names the date itself, so a piece holding it (a
   * release's rows in a digest) is the same in every message.
   */
  date(ms: number): string {
    const fixed = this.fixedDate(ms);
    if (fixed) return fixed;
    this.dates.push(ms);
    return this.slot(`d${this.dates.length - 1}`);
  }
  /** The slot naming the date at ms (the same in every message of this nonce), when ms is a whole number of ms since 1970. */
  fixedDate(ms: number): string | undefined {
    return Number.isSafeInteger(ms) && ms >= 0 ? this.slot(`t${ms}`) : undefined;
  }
}

/**
 * An assembled message whose `html` (and, given in pieces, `text`) is joined from its pieces only
 * when something reads it: a fan-out stores and encodes the pieces, and a 50-item digest's joined
 * HTML is ~170k characters of garbage per segment otherwise. JSON sees them as usual (toJSON).
 * A class, not getters defined on each object: a sender makes one per segment, about one per email.
 */
class AssembledMessage implements RenderedMessage {
  readonly subject: string;
  readonly nonce: string;
  readonly dates: number[];
  readonly parts: string[];
  readonly textParts?: string[];
  private joinedHtml: string | undefined;
  private joinedText: string | undefined;

  constructor(
    m: Omit<RenderedMessage, "html" | "parts" | "text" | "textParts">,
    parts: string[],
    text: string | string[],
  ) {
    this.subject = m.subject;
    this.nonce = m.nonce;
    this.dates = m.dates;
    this.parts = parts;
    if (typeof text === "string") this.joinedText = text;
    else this.textParts = text;
  }

  get html(): string {
    this.joinedHtml ??= this.parts.join("");
    return this.joinedHtml;
  }
  set html(v: string) {
    this.joinedHtml = v;
  }
  get text(): string {
    this.joinedText ??= this.textParts!.join("");
    return this.joinedText;
  }
  set text(v: string) {
    this.joinedText = v;
  }

  toJSON(): RenderedMessage {
    const { subject, html, text, nonce, dates, parts, textParts } = this;
    return { subject, html, text, nonce, dates, parts, ...(textParts ? { textParts } : {}) };
  }
}

export function assembledMessage(
  m: Omit<RenderedMessage, "html" | "parts" | "text" | "textParts">,
  parts: string[],
  text: string | string[],
): RenderedMessage {
  return new AssembledMessage(m, parts, text);
}

export interface Brand {
  orgName: string;
  /** The organisation's name per reader language (ORG_NAME_FR, ORG_NAME_ES); orgName otherwise. */
  orgNames?: Partial<Record<string, string>>;
  /** Labels of topics and regions in the reader's language; humanised slugs without it. */
  taxonomy?: Taxonomy;
  color: string;
  logoUrl?: string;
  publicUrl: string;
}

/** The module's import, once, for rendering in place (no worker threads here). */
let mjmlModule: Promise<{ default: typeof import("mjml") }> | undefined;
const OPTIONS: MjmlOptions = { validationLevel: "soft", keepComments: false };

/** MJML to HTML, on the MJML thread (mjml-thread.ts), or in place where threads cannot start. */
export async function renderMjml(mjml: string): Promise<string> {
  templateStats.mjmlRenders += 1;
  if (!mjmlThread.broken) {
    try {
      return await mjmlThread.render(mjml, OPTIONS);
    } catch (err) {
      if (!(err instanceof NoThread)) throw err;
    }
  }
  mjmlModule ??= import("mjml") as Promise<{ default: typeof import("mjml") }>;
  const { default: mjml2html } = await mjmlModule;
  return (await mjml2html(mjml, OPTIONS)).html;
}

/** One line for a header: no CR/LF or control characters, whatever the input. */
export function headerSafe(s: string, max = 200): string {
  return s
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ")
    .trim()
    .slice(0, max);
}

/** The organisation's name in `lang`. */
export function orgNameIn(brand: Brand, lang: string): string {
  return brand.orgNames?.[lang] ?? brand.orgName;
}

/** A topic or region label in `lang`, from the vocabulary (a readable slug without one). */
export function facetLabelIn(
  brand: Pick<Brand, "taxonomy"> | undefined,
  kind: "topics" | "regions",
  slug: string,
  lang: string,
): string {
  return brand?.taxonomy ? brand.taxonomy.label(kind, slug, lang) : humanizeSlug(slug);
}
