// The languages Herald speaks to people (emails, public pages, feed items) and how a surface picks
// one. A release may be in any language; the words around it are in one of these, else English.
// Every string table (mail.ts, pages.ts, feeds.ts) is a Translations<T>, so a language missing a
// string does not compile.

export const LANGUAGES = ["en", "fr", "es"] as const;
export type Language = (typeof LANGUAGES)[number];

/** One table of a surface's words: every language, every key of T. */
export type Translations<T> = Record<Language, T>;

/** Each language's name in itself, for the language switch and the preferences form. */
export const LANGUAGE_NAMES: Translations<string> = { en: "English", fr: "Français", es: "Español" };

const isLanguage = (s: unknown): s is Language => typeof s === "string" && (LANGUAGES as readonly string[]).includes(s);

/** The language of the words around content in `lang` ("fr", "fr-CA"): its own when Herald speaks it, else English. */
export function uiLanguage(lang: string): Language {
  const l = lang.slice(0, 2);
  return isLanguage(l) ? l : "en";
}

/** A page's language: ?lang, else the subscriber's language, else the best Accept-Language match, else en. */
export function pickLanguage(
  query: unknown,
  subscriberLanguage: Language | undefined,
  acceptLanguage: string | undefined,
): Language {
  if (isLanguage(query)) return query;
  if (subscriberLanguage) return subscriberLanguage;
  const ranked = (acceptLanguage ?? "")
    .split(",")
    .map((part) => {
      const [tag, ...params] = part.trim().split(";");
      const q = params.map((p) => /^q=([\d.]+)$/.exec(p.trim())).find(Boolean);
      return { lang: (tag ?? "").toLowerCase().split("-")[0], q: q ? Number(q[1]) : 1 };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q);
  return ranked.map((x) => x.lang).find(isLanguage) ?? "en";
}
