// MJML to HTML, and the "slots" that make one render serve a whole segment: the rendered HTML
// and text hold markers like HX{nonce}XgreetingX where per-reader values (greeting, links,
// dates in the reader's zone) go; personalise.ts substitutes them. The nonce is random per
// render (per process for assembled digests, whose compiled pieces are shared: see
// messages.ts), so no release text can forge a marker.
import { randomBytes } from "node:crypto";
import { humanizeSlug, type Taxonomy } from "../releases/taxonomy.ts";
import { templateStats } from "./stats.ts";

/** What a segment's readers share: rendered once, personalised per reader. */
export interface RenderedMessage {
  subject: string;
  html: string;
  text: string;
  nonce: string;
  /** Timestamps shown as dates: slot d{i} is dates[i] in the reader's language and zone. */
  dates: number[];
  /**
   * The HTML in the pieces it was assembled from (html === parts.join("")), when it was: the
   * long pieces (layout, each release's rows) recur in many segments, so they are stored once
   * (segments.ts) and encoded once (personalise.ts).
   */
  parts?: string[];
}

export type SlotName = "greeting" | "unsubscribe" | "preferences" | "confirm" | `d${number}`;

export class Slots {
  readonly dates: number[] = [];
  /** Random per render; a fixed one only for pieces compiled once and re-marked (messages.ts). */
  constructor(readonly nonce: string = randomBytes(6).toString("hex")) {}
  slot(name: SlotName): string {
    return `HX${this.nonce}X${name}X`;
  }
  /** A slot for a date, formatted per reader. */
  date(ms: number): string {
    this.dates.push(ms);
    return this.slot(`d${this.dates.length - 1}`);
  }
}

/**
 * An assembled message whose `html` is joined from `parts` only when something reads it: a
 * fan-out stores and encodes the parts, and a 50-item digest's joined HTML is ~170k characters
 * of garbage per segment otherwise. `html` is enumerable, so JSON and spreads see it as usual.
 */
export function assembledMessage(m: Omit<RenderedMessage, "html" | "parts">, parts: string[]): RenderedMessage {
  let html: string | undefined;
  const out = { ...m, parts } as RenderedMessage;
  Object.defineProperty(out, "html", {
    enumerable: true,
    configurable: true,
    get: () => {
      html ??= parts.join("");
      return html;
    },
    set: (v: string) => {
      html = v;
    },
  });
  return out;
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

/** The module's import, once: awaiting a dynamic import again costs a trip through the module loader per render. */
let mjmlModule: Promise<{ default: typeof import("mjml") }> | undefined;

export async function renderMjml(mjml: string): Promise<string> {
  templateStats.mjmlRenders += 1;
  // Loaded on the first render, not with this module: everything that sends, escapes or checks a
  // header imports this file, and mjml with its dependencies is ~45 MB a process need not carry.
  mjmlModule ??= import("mjml") as Promise<{ default: typeof import("mjml") }>;
  const { default: mjml2html } = await mjmlModule;
  const out = await mjml2html(mjml, { validationLevel: "soft", keepComments: false });
  return out.html;
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
