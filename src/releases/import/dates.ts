// Publication dates a page states clearly: "Published on 7 February 2026", "February 7, 2026",
// an ISO date, <time datetime> or article:published_time. Anything vaguer is left to the
// --published-at flag, because a wrong date would send an alert at the wrong time.
import { z } from "zod";

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH =
  "(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?";
const WEEKDAY = "(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\\.?,?\\s+)?";
const DAY_MONTH_YEAR = `${WEEKDAY}(\\d{1,2})(?:st|nd|rd|th)?\\s+${MONTH},?\\s+(\\d{4})`;
const MONTH_DAY_YEAR = `${WEEKDAY}${MONTH}\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})`;
const ISO_DAY = "(\\d{4})-(\\d{2})-(\\d{2})";
const DATE = `(?:${DAY_MONTH_YEAR}|${MONTH_DAY_YEAR}|${ISO_DAY})`;

/** A label that makes a date line a publication statement rather than any date. */
const LABEL = "(?:(?:date\\s+)?(?:first\\s+)?(?:published|posted|released|issued|date)(?:\\s+on)?\\s*:?\\s*)";

const LABELLED_DATE_LINE = new RegExp(`^${LABEL}${DATE}\\.?$`, "i");
const BARE_DATE_LINE = new RegExp(`^${DATE}\\.?$`, "i");
const DATE_AT_START = new RegExp(`^${DATE}`, "i");

export type DateLineKind = "labelled" | "bare";

/** Whether a whole line is a date statement: "Published on 7 February 2026" or "7 Feb 2026". */
export function dateLineKind(line: string): DateLineKind | undefined {
  const text = line.trim();
  if (LABELLED_DATE_LINE.test(text)) return "labelled";
  if (BARE_DATE_LINE.test(text)) return "bare";
  return undefined;
}

/** The ISO date-time of a date line, or undefined if it states no real calendar date. */
export function parseDateLine(line: string): string | undefined {
  const text = line.trim().replace(new RegExp(`^${LABEL}`, "i"), "");
  const m = DATE_AT_START.exec(text);
  if (!m) return undefined;
  const [, d1, m1, y1, m2, d2, y2, yIso, mIso, dIso] = m;
  if (yIso) return utcMidnight(Number(yIso), Number(mIso), Number(dIso));
  const month = (m1 ?? m2)!.slice(0, 3).toLowerCase();
  return utcMidnight(Number(y1 ?? y2), MONTHS.indexOf(month) + 1, Number(d1 ?? d2));
}

/** A date with no time of day is taken as midnight UTC: the day is what the page states. */
function utcMidnight(year: number, month: number, day: number): string | undefined {
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return date.toISOString().replace(".000Z", "Z");
}

const isoDateTime = z.iso.datetime({ offset: true });

/**
 * Normalises a machine-readable date (<time datetime>, article:published_time) to the
 * release's ISO 8601 form. A date-time without an offset is read as UTC.
 */
export function normaliseMachineDate(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return parseDateLine(text);
  const withSeconds = text.replace(/^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2})(?=$|Z|[+-])/, "$1:00").replace(" ", "T");
  const withOffset = /(?:Z|[+-]\d{2}:?\d{2})$/.test(withSeconds) ? withSeconds : `${withSeconds}Z`;
  const colonOffset = withOffset.replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  return isoDateTime.safeParse(colonOffset).success ? colonOffset : undefined;
}
