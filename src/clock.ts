// Time is a dependency (pg-boss clock.ts): code asks the clock, tests hand in a fixed one.
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function fixedClock(
  start: number | string,
): Clock & { set(t: number | string): void; advance(ms: number): void } {
  let t = typeof start === "string" ? Date.parse(start) : start;
  return {
    now: () => t,
    set: (v) => {
      t = typeof v === "string" ? Date.parse(v) : v;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Whether Intl knows this IANA time zone (config's DEFAULT_TIMEZONE, a reader's timezone). */
export function isTimeZone(tz: string): boolean {
  // No real zone name is longer; the bound keeps a hostile value out of the formatter cache key.
  if (tz.length > 64) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// Building an Intl formatter costs far more than using one, and a feed build or an email fan-out
// formats the same few (language, zone) pairs many times, so they are kept (at most 1,000).
const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** "28 November 2026" in `language` (ICU), in `timeZone`; the ISO date if ICU cannot. */
export function formatDate(when: number | string, language: string, timeZone: string): string {
  const key = `${language}|${timeZone}`;
  try {
    let f = dateFormats.get(key);
    if (!f) {
      f = new Intl.DateTimeFormat(language, { dateStyle: "long", timeZone });
      if (dateFormats.size >= 1000) dateFormats.clear();
      dateFormats.set(key, f);
    }
    return f.format(new Date(when));
  } catch {
    const d = new Date(when);
    return Number.isNaN(d.getTime()) ? String(when).slice(0, 10) : d.toISOString().slice(0, 10);
  }
}
