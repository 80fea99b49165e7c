// Topics and regions as a managed vocabulary: each slug has a display label per language, and a
// code other systems understand (an IPTC Media Topic for topics; ISO 3166-1 alpha-2 and a
// GeoNames id for countries). Forms, digests, alerts, release pages, feed categories and ninjs
// subjects/places all take labels and codes from here, so a topic is spelled one way everywhere.
//
// Three layers, later ones win per slug:
//   1. taxonomy.json beside this file (the built-in IOM vocabulary);
//   2. TAXONOMY_FILE (same shape), read once at start-up: a bad file stops start-up;
//   3. entries added with `herald taxonomy add`, kept in Redis
//      ({p}:taxonomy, hash "topics/slug" -> JSON), so every process sees them at once.
// A release naming a slug in none of them is refused (400, the known slugs listed).
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { z } from "zod";
import { ConfigError } from "../config/index.ts";
import { invalid, parseOrThrow } from "../errors.ts";
import { type Issue, SLUG_RE, singleLine, slug } from "./model.ts";
import { keyBuilder } from "../redis/keys.ts";
import { uiLanguage } from "../i18n/languages.ts";

export const TAXONOMY_KINDS = ["topics", "regions"] as const;
export type TaxonomyKind = (typeof TAXONOMY_KINDS)[number];

export const IPTC_MEDIATOPIC = "http://cv.iptc.org/newscodes/mediatopic/";
export const GEONAMES = "https://sws.geonames.org/";

/** A label per interface language (i18n/languages.ts): list() and label() index it by Language. */
const labels = z.object({ en: singleLine(100), fr: singleLine(100), es: singleLine(100) });

export const topicEntrySchema = z.object({
  slug,
  labels,
  iptc: z
    .string()
    .regex(/^\d{8}$/, "an 8-digit IPTC Media Topic code such as 20000771")
    .optional(),
  /** "broader": the IPTC concept is wider than the topic. */
  match: z.enum(["exact", "broader"]).optional(),
});

export const regionEntrySchema = z.object({
  slug,
  labels,
  iso: z
    .string()
    .regex(/^[A-Z]{2}$/, "an ISO 3166-1 alpha-2 code such as DJ")
    .refine(
      (c) => new Intl.DisplayNames(["en"], { type: "region", fallback: "none" }).of(c) !== undefined,
      "an assigned ISO 3166-1 alpha-2 code",
    )
    .optional(),
  geonames: z.number().int().positive("a GeoNames feature id such as 223816").optional(),
});

export type TopicEntry = z.output<typeof topicEntrySchema>;
export type RegionEntry = z.output<typeof regionEntrySchema>;
export type TaxonomyEntry = TopicEntry & RegionEntry;

const fileSchema = z.object({
  topics: z.array(topicEntrySchema).default([]),
  regions: z.array(regionEntrySchema).default([]),
});
export type TaxonomyData = z.output<typeof fileSchema>;

/** A topic or region as other systems name it. */
export interface Concept {
  slug: string;
  label: string;
  /** IPTC Media Topic URI for a topic, GeoNames URI for a country; absent for Herald-only concepts. */
  uri?: string;
  /** The vocabulary `code` belongs to: IPTC Media Topics or ISO 3166-1. */
  scheme?: string;
  /** "medtop:20000771" or "DJ". */
  code?: string;
}

/** An immutable snapshot of the vocabulary: what a render or a validation works from. */
export class Taxonomy {
  private readonly byKind: Record<TaxonomyKind, Map<string, TaxonomyEntry>>;

  constructor(layers: Partial<TaxonomyData>[]) {
    this.byKind = { topics: new Map(), regions: new Map() };
    for (const layer of layers) {
      for (const kind of TAXONOMY_KINDS)
        for (const e of layer[kind] ?? []) this.byKind[kind].set(e.slug, e as TaxonomyEntry);
    }
  }

  /** Every entry: what a feed build hashes, so relabelling a topic rebuilds the feeds. */
  toJSON(): Record<TaxonomyKind, TaxonomyEntry[]> {
    return { topics: [...this.byKind.topics.values()], regions: [...this.byKind.regions.values()] };
  }

  has(kind: TaxonomyKind, s: string): boolean {
    return this.byKind[kind].has(s);
  }

  entry(kind: TaxonomyKind, s: string): TaxonomyEntry | undefined {
    return this.byKind[kind].get(s);
  }

  /** Every entry of a kind, sorted by its label in `lang`. */
  list(kind: TaxonomyKind, lang: string = "en"): TaxonomyEntry[] {
    const l = uiLanguage(lang);
    const collator = new Intl.Collator(l);
    return [...this.byKind[kind].values()].sort((a, b) => collator.compare(a.labels[l], b.labels[l]));
  }

  slugs(kind: TaxonomyKind): string[] {
    return [...this.byKind[kind].keys()].sort();
  }

  /** The label in `lang` (en, fr, es; anything else reads English: uiLanguage); a humanised slug if unknown. */
  label(kind: TaxonomyKind, s: string, lang: string = "en"): string {
    return this.byKind[kind].get(s)?.labels[uiLanguage(lang)] ?? humanizeSlug(s);
  }

  concept(kind: TaxonomyKind, s: string, lang: string = "en"): Concept {
    const e = this.byKind[kind].get(s);
    const label = this.label(kind, s, lang);
    if (kind === "topics" && e?.iptc)
      return { slug: s, label, uri: `${IPTC_MEDIATOPIC}${e.iptc}`, scheme: IPTC_MEDIATOPIC, code: `medtop:${e.iptc}` };
    if (kind === "regions" && e?.iso) {
      return {
        slug: s,
        label,
        ...(e.geonames ? { uri: `${GEONAMES}${e.geonames}/` } : {}),
        scheme: "ISO 3166-1 alpha-2",
        code: e.iso,
      };
    }
    return { slug: s, label };
  }

  /**
   * The problems with a release's (or a reader's) topics and regions: one issue per unknown
   * slug, naming the known ones. Slugs in `keep` (what a reader already had) are accepted.
   */
  unknownIssues(
    values: { topics: string[]; regions: string[] },
    keep?: { topics: string[]; regions: string[] },
  ): Issue[] {
    const issues: Issue[] = [];
    for (const kind of TAXONOMY_KINDS) {
      values[kind].forEach((s, i) => {
        if (!this.has(kind, s) && !keep?.[kind].includes(s)) {
          issues.push({
            path: `${kind}.${i}`,
            message: `unknown ${kind === "topics" ? "topic" : "region"} ${JSON.stringify(s)}; known: ${this.slugs(kind).join(", ")} (add one with \`herald taxonomy add\`)`,
          });
        }
      });
    }
    return issues;
  }
}

/** "counter-trafficking" -> "Counter trafficking": for a slug the vocabulary does not know (old data). */
export function humanizeSlug(s: string): string {
  const t = s.replace(/-/g, " ");
  return t.charAt(0).toUpperCase() + t.slice(1);
}

let builtIn: TaxonomyData | undefined;
/** The vocabulary shipped with Herald (src/releases/taxonomy.json). */
export function builtInTaxonomy(): TaxonomyData {
  builtIn ??= fileSchema.parse(JSON.parse(readFileSync(new URL("./taxonomy.json", import.meta.url), "utf8")));
  return builtIn;
}

let builtInSnapshot: Taxonomy | undefined;
/** The built-in vocabulary alone, for callers without a runtime (pure renderers' defaults, tests, tools). */
export function defaultTaxonomy(): Taxonomy {
  builtInSnapshot ??= new Taxonomy([builtInTaxonomy()]);
  return builtInSnapshot;
}

/** Reads TAXONOMY_FILE; throws an error naming the variable, the file and every problem. */
export function readTaxonomyFile(file: string): TaxonomyData {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(
      `invalid configuration: TAXONOMY_FILE=${JSON.stringify(file)} is not allowed: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration: TAXONOMY_FILE=${JSON.stringify(file)} is not allowed: ${issues}`);
  }
  return parsed.data;
}

/** The vocabulary of one Herald installation: built-in + TAXONOMY_FILE + what ops added (Redis). */
export class TaxonomyStore {
  private readonly base: TaxonomyData[];

  constructor(
    private readonly redis: Redis,
    prefix: string,
    /** TAXONOMY_FILE, already read (readTaxonomyFile). */
    file?: TaxonomyData,
  ) {
    this.base = [builtInTaxonomy(), ...(file ? [file] : [])];
    this.key = keyBuilder(prefix)("taxonomy");
  }

  private readonly key: string;
  /** The last vocabulary read, by what Redis held: the same object while nothing was added (renderers cache by it). */
  private last: { added: string; taxonomy: Taxonomy } | undefined;

  /** The current vocabulary (one Redis read: additions show in every process at once). */
  async current(): Promise<Taxonomy> {
    const raw = await this.redis.hgetall(this.key);
    const key = JSON.stringify(Object.entries(raw).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (this.last?.added === key) return this.last.taxonomy;
    const added: TaxonomyData = { topics: [], regions: [] };
    for (const [field, json] of Object.entries(raw)) {
      const [kind] = field.split("/");
      if (kind === "topics" || kind === "regions") (added[kind] as TaxonomyEntry[]).push(JSON.parse(json));
    }
    const taxonomy = new Taxonomy([...this.base, added]);
    this.last = { added: key, taxonomy };
    return taxonomy;
  }

  /** Adds or replaces an entry; returns it. Throws 400 listing every problem. */
  async add(kind: TaxonomyKind, raw: unknown): Promise<TaxonomyEntry> {
    if (!(TAXONOMY_KINDS as readonly string[]).includes(kind))
      throw invalid(`invalid taxonomy kind ${JSON.stringify(kind)}: topics or regions`);
    const entry = parseOrThrow(
      kind === "topics" ? topicEntrySchema : regionEntrySchema,
      raw,
      kind === "topics" ? "topic" : "region",
    ) as TaxonomyEntry;
    if (!SLUG_RE.test(entry.slug)) throw invalid(`invalid slug ${JSON.stringify(entry.slug)}`);
    await this.redis.hset(this.key, `${kind}/${entry.slug}`, JSON.stringify(entry));
    return entry;
  }
}
