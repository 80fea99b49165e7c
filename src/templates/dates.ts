// Dates in the reader's language and time zone. Formatters are costly to build and a fan-out
// formats the same few (language, zone) pairs many times, so they are kept.
const formatters = new Map<string, Intl.DateTimeFormat>();

export function formatDate(ms: number, language: string, timeZone: string): string {
  const key = `${language}|${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(language, { dateStyle: "long", timeZone });
    if (formatters.size > 1000) formatters.clear();
    formatters.set(key, f);
  }
  return f.format(ms);
}
