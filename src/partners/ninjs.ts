// A release as an IPTC ninjs 3.1 news item (https://www.iptc.org/std/ninjs/ninjs-schema_3.1.json).
// Pure: the same release and options always give the same item, so every retry and replay of a
// webhook carries the same document. The schema root forbids unknown properties, so only ninjs
// names appear here; the tests validate every variant against the official schema.
import type { ReleaseEvent } from "../vocabulary.ts";
import { httpUrl, type Release, releaseDates } from "../releases/model.ts";
import { defaultTaxonomy, type Taxonomy } from "../releases/taxonomy.ts";

export interface NinjsOptions {
  /** PUBLIC_URL: the base of the item's uri and of the topic/region scheme URIs. */
  publicUrl: string;
  orgName: string;
  /** Labels and codes of topics and regions (the built-in vocabulary without it). */
  taxonomy?: Taxonomy;
}

type Text = { role?: string; contentType?: string; value: string };
type Concept = { name: string; rel?: string; uri?: string; literal?: string };
type ContactInfo = { type: string; role?: string; value: string };
type Rendition = { name: string; href?: string; contentType?: string; title?: string };

export interface NinjsItem {
  uri: string;
  type: "text" | "picture";
  representationType?: "full";
  profile?: string;
  version?: string;
  firstCreated?: string;
  versionCreated?: string;
  embargoedUntil?: string;
  pubStatus?: "usable" | "withheld" | "canceled";
  urgency?: number;
  copyrightHolder?: string;
  edNote?: string;
  language?: string;
  title?: string;
  headlines?: Text[];
  descriptions?: Text[];
  bodies?: (Text & { charCount?: number; wordCount?: number })[];
  subjects?: Concept[];
  places?: Concept[];
  people?: (Concept & { contactInfo?: ContactInfo[] })[];
  infoSources?: { name: string; role?: string; uri?: string }[];
  located?: string;
  renditions?: Rendition[];
  associations?: (Omit<NinjsItem, "associations"> & { name: string; rel?: string })[];
  altIds?: { role: string; value: string }[];
  standard?: { name: string; version: string; schema: string };
}

export const NINJS_SCHEMA_URI = "https://www.iptc.org/std/ninjs/ninjs-schema_3.1.json";

/** The stable identifier of a release, the same for every revision (`version` tells them apart). */
export function releaseUri(publicUrl: string, id: string): string {
  return `${publicUrl}/releases/${encodeURIComponent(id)}`;
}

/**
 * A topic or region as ninjs concept: its label in the release's language, the concept's URI
 * (IPTC Media Topic, GeoNames) and, as literal, Herald's slug for a topic and the ISO 3166-1
 * alpha-2 code for a country. A concept without a public URI gets the URI of its Herald feed.
 */
function concept(o: NinjsOptions, kind: "topics" | "regions", slug: string, lang: string): Concept {
  const c = (o.taxonomy ?? defaultTaxonomy()).concept(kind, slug, lang);
  const literal = kind === "regions" && c.code ? c.code : slug;
  return { name: c.label, rel: "about", uri: c.uri ?? `${o.publicUrl}/feeds/${kind}/${slug}/`, literal };
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

export function toNinjs(r: Release, event: ReleaseEvent, o: NinjsOptions): NinjsItem {
  // The revision's status decides: an embargoed event, or a correction made while still under
  // embargo, carries the embargo time; once published it is gone.
  const embargoed = event === "embargoed" || r.status === "embargoed";
  const dates = releaseDates(r); // firstCreated = first publication, versionCreated = this revision
  const web = r.url ? httpUrl(r.url) : null;
  const associations = associationsOf(r, o);
  return {
    uri: releaseUri(o.publicUrl, r.id),
    type: "text",
    representationType: "full",
    profile: "press-release",
    version: String(r.revision),
    firstCreated: dates.published,
    versionCreated: dates.modified,
    ...(embargoed ? { embargoedUntil: r.embargoUntil ?? r.publishedAt } : {}),
    pubStatus: event === "withdrawn" || r.status === "withdrawn" ? "canceled" : "usable",
    urgency: r.urgent ? 2 : 5,
    copyrightHolder: o.orgName,
    ...(r.correction ? { edNote: r.correction } : {}),
    language: r.language,
    title: r.title,
    headlines: [{ role: "main", contentType: "text/plain", value: r.title }],
    ...(r.summary ? { descriptions: [{ role: "summary", contentType: "text/plain", value: r.summary }] } : {}),
    bodies: bodiesOf(r),
    ...(r.topics.length ? { subjects: r.topics.map((t) => concept(o, "topics", t, r.language)) } : {}),
    ...(r.regions.length ? { places: r.regions.map((g) => concept(o, "regions", g, r.language)) } : {}),
    ...(r.contacts.length ? { people: r.contacts.map(person) } : {}),
    infoSources: [{ name: o.orgName, role: "originator" }],
    ...(r.dateline ? { located: r.dateline } : {}),
    // The canonical web page of the release is a rendition of the item as text/html.
    // httpUrl again: a release stored before URLs were checked must still give a valid item.
    ...(web ? { renditions: [{ name: "web", href: web, contentType: "text/html", title: r.title }] } : {}),
    altIds: [{ role: "herald-id", value: r.id }],
    standard: { name: "ninjs", version: "3.1", schema: NINJS_SCHEMA_URI },
    ...(associations.length ? { associations } : {}),
  };
}

/** The body twice, as HTML and as plain text, each with the text's counts. */
function bodiesOf(r: Release): NonNullable<NinjsItem["bodies"]> {
  const counts = { charCount: r.bodyText.length, wordCount: words(r.bodyText) };
  return [
    { role: "main", contentType: "text/html", value: r.bodyHtml, ...counts },
    { role: "main", contentType: "text/plain", value: r.bodyText, ...counts },
  ];
}

/** A press contact as a ninjs person, with whichever of office, email and phone it has. */
function person(c: Release["contacts"][number]): NonNullable<NinjsItem["people"]>[number] {
  const info: ContactInfo[] = [
    ...(c.office ? [{ type: "office", role: "work", value: c.office }] : []),
    ...(c.email ? [{ type: "email", role: "work", value: c.email }] : []),
    ...(c.phone ? [{ type: "phone", role: "work", value: c.phone }] : []),
  ];
  return { name: c.name, rel: "contact", ...(info.length ? { contactInfo: info } : {}) };
}

/** The feature image (as a picture item) and, for a translation, the original it translates. */
function associationsOf(r: Release, o: NinjsOptions): NonNullable<NinjsItem["associations"]> {
  const associations: NonNullable<NinjsItem["associations"]> = [];
  const imageUrl = r.image ? httpUrl(r.image.url) : null;
  if (r.image && imageUrl) {
    associations.push({
      name: "featureimage",
      rel: "image",
      uri: imageUrl,
      type: "picture",
      descriptions: [{ role: "alt", contentType: "text/plain", value: r.image.alt }],
      renditions: [{ name: "original", href: imageUrl }],
    });
  }
  if (r.translationOf) {
    associations.push({
      name: "original",
      rel: "translation-of",
      uri: releaseUri(o.publicUrl, r.translationOf),
      type: "text",
    });
  }
  return associations;
}
