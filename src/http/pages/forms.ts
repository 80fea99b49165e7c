// The preference fields shared by the subscribe and preferences pages, and reading them back
// from a form post (a single checkbox arrives as a string, several as an array).
import type { Runtime } from "../../runtime.ts";
import type { Subscriber } from "../../subscribers/model.ts";
import { FREQUENCIES } from "../../subscribers/model.ts";
import { LANGUAGE_NAMES, LANGUAGES } from "../../i18n/languages.ts";
import { escapeHtml } from "../../releases/sanitize.ts";
import type { PageStrings } from "../../i18n/pages.ts";

export interface FormValues {
  email?: string;
  name?: string;
  language?: string;
  frequency?: string;
  topics?: string[];
  regions?: string[];
  timezone?: string;
}

/** A topic or region a form offers: its slug (the value posted) and its label in the page's language. */
export interface FacetOption {
  value: string;
  label: string;
}

export function preferenceFields(
  t: PageStrings,
  v: FormValues,
  facets: { topics: FacetOption[]; regions: FacetOption[] },
  defaultTimezone: string,
): string {
  const checks = (name: "topics" | "regions", values: FacetOption[]) =>
    values.length === 0
      ? ""
      : `<fieldset><legend>${escapeHtml(t[name])}</legend>${values
          .map(
            (x) =>
              `<label><input type="checkbox" name="${name}" value="${escapeHtml(x.value)}"${v[name]?.includes(x.value) ? " checked" : ""}> ${escapeHtml(x.label)}</label>`,
          )
          .join("\n")}<p class="note">${escapeHtml(t.allHint)}</p></fieldset>`;
  return `<label for="name">${escapeHtml(t.name)}</label>
<input type="text" id="name" name="name" maxlength="100" value="${escapeHtml(v.name ?? "")}">
<label for="language">${escapeHtml(t.language)}</label>
<select id="language" name="language">${LANGUAGES.map((l) => `<option value="${l}"${v.language === l ? " selected" : ""}>${LANGUAGE_NAMES[l]}</option>`).join("")}</select>
<fieldset><legend>${escapeHtml(t.frequency)}</legend>${FREQUENCIES.map(
    (f) =>
      `<label><input type="radio" name="frequency" value="${f}"${(v.frequency ?? "daily") === f ? " checked" : ""}> ${escapeHtml(t.frequencies[f])}</label>`,
  ).join("\n")}</fieldset>
${checks("topics", facets.topics)}
${checks("regions", facets.regions)}
<label for="timezone">${escapeHtml(t.timezone)}</label>
<input type="text" id="timezone" name="timezone" value="${escapeHtml(v.timezone ?? defaultTimezone)}">`;
}

/** A form post or JSON body as subscriber input: lists from repeated fields or "a;b". */
export function readForm(body: unknown): Record<string, unknown> {
  const b = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  const list = (x: unknown) => (Array.isArray(x) ? x.map(String) : typeof x === "string" && x ? x.split(/[;,]/) : []);
  const out: Record<string, unknown> = { ...b, topics: list(b.topics), regions: list(b.regions) };
  for (const k of ["name", "timezone", "language", "frequency"]) if (out[k] === "") delete out[k];
  return out;
}

export function valuesOf(s: Subscriber): FormValues {
  return {
    email: s.email,
    name: s.name,
    language: s.language,
    frequency: s.frequency,
    topics: s.topics,
    regions: s.regions,
    timezone: s.timezone,
  };
}

/**
 * What the forms offer: topics and regions with at least one public release now (a topic
 * whose only release was withdrawn or is still embargoed is not offered), plus whatever the
 * reader already chose (so they can untick it), labelled and sorted in the page's language.
 */
export async function offeredFacets(
  rt: Pick<Runtime, "taxonomy" | "releases">,
  lang: string,
  chosen: { topics: string[]; regions: string[] } = { topics: [], regions: [] },
): Promise<{ topics: FacetOption[]; regions: FacetOption[] }> {
  const taxonomy = await rt.taxonomy.current();
  const collator = new Intl.Collator(lang);
  const options = async (kind: "topics" | "regions") => {
    const live = await rt.releases.liveFacets(kind);
    return [...new Set([...live, ...chosen[kind]])]
      .map((value) => ({ value, label: taxonomy.label(kind, value, lang) }))
      .sort((a, b) => collator.compare(a.label, b.label));
  };
  return { topics: await options("topics"), regions: await options("regions") };
}
