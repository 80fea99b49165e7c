// Reads a scraped press release saved as plain text: site menus at the top, then the title
// line, then the body hard-wrapped at ~70 columns (often with no blank lines between
// paragraphs), then the contact block, sometimes followed by footer lines.
import { isBreadcrumbLine, isCookieLine, isFooterMarker, isMenuLabel, isWidgetLine } from "./chrome.ts";
import { isContactIntro } from "./contacts.ts";
import { dateLineKind, parseDateLine } from "./dates.ts";
import { type Block, paragraph, type ScrapedPage } from "./page.ts";

/** Nobody hard-wraps wider than this: a block with longer lines has one paragraph per line. */
const UNWRAPPED_WIDTH = 160;

export function readTextPage(text: string): ScrapedPage {
  const lines = toLines(text);
  const titleAt = findTitleLine(lines);
  if (titleAt < 0) return { title: undefined, body: [], contactGroups: [] };

  const contactAt = findLine(lines, titleAt + 1, isContactIntro);
  const bodyEnd = Math.min(contactAt, findLine(lines, titleAt + 1, isFooterMarker));
  const contactEnd = findLine(lines, contactAt + 1, isFooterMarker);
  const dates = findDateLines(lines, titleAt, bodyEnd);
  const bodyLines = lines
    .slice(titleAt + 1, bodyEnd)
    .filter((line, k) => !dates.lines.has(titleAt + 1 + k) && !isWidgetLine(line));

  return {
    title: lines[titleAt]!.trim(),
    body: toBlocks(rewrap(bodyLines)),
    contactGroups: splitOnBlankLines(lines.slice(contactAt, contactEnd)),
    ...(dates.publishedAt && { publishedAt: dates.publishedAt }),
  };
}

function toLines(text: string): string[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) =>
      line
        .replace(/[\t\u00a0]/g, " ")
        .replace(/[\u0000-\u001f\u007f]/g, "")
        .trim(),
    );
}

function findLine(lines: string[], from: number, test: (line: string) => boolean): number {
  for (let i = from; i < lines.length; i++) if (lines[i] && test(lines[i]!)) return i;
  return lines.length;
}

// ---- title ---------------------------------------------------------------------------------

/**
 * The title is the first heading line (no closing punctuation) that is followed by prose.
 * Menu labels are short, so a title needs four words; a page with no such line gets a
 * second pass that accepts two-word titles.
 */
function findTitleLine(lines: string[]): number {
  for (const minWords of [4, 2]) {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line || isContactIntro(line)) continue;
      if (isHeaderChrome(lines, i) || dateLineKind(line) || isWidgetLine(line)) continue;
      const next = nextContentLine(lines, i + 1);
      if (next >= 0 && isHeadingLine(line, minWords) && startsProse(lines, next)) return i;
    }
  }
  return -1;
}

function isHeadingLine(line: string, minWords: number): boolean {
  return (
    /\p{L}/u.test(line) &&
    line.length <= 300 &&
    line.split(/\s+/).length >= minWords &&
    !/[.,;:]$/.test(line) &&
    !/@|https?:\/\//.test(line)
  );
}

function nextContentLine(lines: string[], from: number): number {
  for (let j = from; j < lines.length; j++) {
    const line = lines[j]!;
    if (line && !dateLineKind(line) && !isWidgetLine(line) && !isHeaderChrome(lines, j)) return j;
  }
  return -1;
}

/**
 * Whether line j opens the body: its paragraph reaches a sentence end within five words or
 * more, and the line is not itself a stand-alone heading (which would make it the title and
 * the line before it a stray menu label).
 */
function startsProse(lines: string[], j: number): boolean {
  const block: string[] = [];
  for (let k = j; k < lines.length && lines[k] && block.length < 12; k++) block.push(lines[k]!);
  const width = Math.max(...block.map((l) => l.length));
  const [first = "", second] = block;
  if (isHeadingLine(first, 2) && (second === undefined || isShortLine(first, second, width))) return false;
  const sentenceEnd = /[.!?]["'”’)\]]*(?=\s|$)/.exec(block.slice(0, 8).join(" "));
  if (!sentenceEnd) return false;
  return block.join(" ").slice(0, sentenceEnd.index).split(/\s+/).length >= 5;
}

/**
 * Site chrome above the title, in the shapes the scraper leaves it: separator lines ("-"),
 * menu items ("- Where we work"), labels printed twice (desktop and mobile menus), a mega-menu
 * label glued to its blurb ("Who we are" then "WHO WE AREThe International …"), breadcrumbs,
 * cookie notices and known menu labels.
 */
function isHeaderChrome(lines: string[], i: number): boolean {
  const line = lines[i]!;
  if (!/[\p{L}\p{N}]/u.test(line)) return true;
  if (/^[-–—•*·>|]\s/.test(line)) return true;
  if (isMenuLabel(line) || isBreadcrumbLine(line) || isCookieLine(line)) return true;
  const prev = neighbour(lines, i, -1);
  const next = neighbour(lines, i, 1);
  if (sameText(line, prev) || sameText(line, next)) return true;
  if (gluedTo(line, next) || gluedTo(prev, line)) return true;
  // "WHO WE AREThe …": an all-capitals label run straight into a capitalised word.
  return /^(?:\p{Lu}+\s+)*\p{Lu}{2,}\p{Lu}\p{Ll}{2,}/u.test(line);
}

function neighbour(lines: string[], i: number, step: 1 | -1): string {
  for (let j = i + step; j >= 0 && j < lines.length; j += step) if (lines[j]) return lines[j]!;
  return "";
}

function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** `line` starts with `label` and a letter follows with no space: a menu label and its blurb. */
function gluedTo(label: string, line: string): boolean {
  return (
    label.length > 0 &&
    line.length > label.length &&
    line.toLowerCase().startsWith(label.toLowerCase()) &&
    /\p{L}/u.test(line[label.length]!)
  );
}

// ---- dates ---------------------------------------------------------------------------------

/**
 * A labelled date line ("Published on 7 February 2026") anywhere above the contacts, or a bare
 * date line right next to the title, states the publication date; both are removed from the body.
 */
function findDateLines(lines: string[], titleAt: number, end: number): { publishedAt?: string; lines: Set<number> } {
  const found = new Set<number>();
  let publishedAt: string | undefined;
  for (let i = 0; i < end; i++) {
    const kind = dateLineKind(lines[i]!);
    const nearTitle = i >= titleAt - 1 && i <= titleAt + 2;
    if (kind === "labelled" || (kind === "bare" && nearTitle)) {
      found.add(i);
      publishedAt ??= parseDateLine(lines[i]!);
    }
  }
  return { ...(publishedAt && { publishedAt }), lines: found };
}

// ---- paragraphs ----------------------------------------------------------------------------

function splitOnBlankLines(lines: string[]): string[][] {
  const groups: string[][] = [[]];
  for (const line of lines) {
    if (line) groups[groups.length - 1]!.push(line);
    else if (groups[groups.length - 1]!.length) groups.push([]);
  }
  return groups.filter((g) => g.length > 0);
}

/**
 * Rejoins hard-wrapped lines into paragraphs. Blank lines always separate paragraphs. Inside
 * a block, a line ends its paragraph when it ends a sentence and is clearly shorter than the
 * block's wrap width: the next line's first word would have fitted on it with room to spare,
 * so the break is the author's, not the wrapper's. (The slack matters: scraped text is not
 * wrapped exactly greedily, so "would just fit" happens inside paragraphs.) A short line with
 * no closing punctuation is a one-line paragraph such as a subheading. List items start anew.
 * Known limit: a paragraph whose last line happens to be full cannot be told from its
 * continuation without blank lines, so it is joined to the next one.
 */
export function rewrap(lines: string[]): string[] {
  const paragraphs: string[] = [];
  for (const block of splitOnBlankLines(lines)) {
    if (isUnwrapped(block)) {
      paragraphs.push(...block);
      continue;
    }
    const width = Math.max(...block.map((l) => l.length));
    let current: string[] = [];
    for (const [i, line] of block.entries()) {
      current.push(line);
      const next = block[i + 1];
      if (next === undefined || endsParagraph(line, next, width, current.length === 1)) {
        paragraphs.push(joinWrapped(current));
        current = [];
      }
    }
  }
  return paragraphs;
}

/**
 * One paragraph per line: lines too long for a hard wrap, or lines that end sentences far
 * more often than wrapping allows (all of a short block's lines, 60% of a longer one's).
 */
function isUnwrapped(block: string[]): boolean {
  if (block.some((l) => l.length > UNWRAPPED_WIDTH)) return true;
  if (block.length < 2) return false;
  const ends = block.filter(endsSentence).length / block.length;
  return block.length < 4 ? ends === 1 : ends >= 0.6;
}

function endsParagraph(line: string, next: string, width: number, onlyLine: boolean): boolean {
  if (isBulletLine(next)) return true;
  if (endsSentence(line)) return clearlyShorter(line, next, width);
  return onlyLine && isShortLine(line, next, width);
}

/** The next line's first word would have fitted on this line, with 5% of the width to spare. */
function clearlyShorter(line: string, next: string, width: number): boolean {
  const word = next.split(/\s+/, 1)[0] ?? "";
  return line.length + 1 + word.length <= width - Math.max(3, Math.round(width * 0.05));
}

/** A stand-alone line (subheading): at most 60% of the width, no trailing comma or colon, and followed by a capital. */
function isShortLine(line: string, next: string, width: number): boolean {
  return line.length <= width * 0.6 && !/[,;:]$/.test(line) && /^[\p{Lu}\p{N}"“‘]/u.test(next);
}

function endsSentence(line: string): boolean {
  return /[.!?]["'”’)\]]*$/.test(line);
}

function isBulletLine(line: string): boolean {
  return /^[-•*·]\s+\S/.test(line);
}

/** Joins with single spaces; a word hyphenated at the line end ("counter-" / "trafficking") is kept whole. */
function joinWrapped(lines: string[]): string {
  let text = "";
  for (const line of lines) {
    if (!text) text = line;
    else if (/\p{L}-$/u.test(text) && /^\p{Ll}/u.test(line)) text += line;
    else text += ` ${line}`;
  }
  return text.replace(/\s+/g, " ");
}

/** Paragraphs become <p>; runs of "- item" paragraphs become one list. */
function toBlocks(paragraphs: string[]): Block[] {
  const blocks: Block[] = [];
  for (const text of paragraphs) {
    if (!isBulletLine(text)) {
      blocks.push(paragraph(text));
      continue;
    }
    const item = [{ text: text.replace(/^[-•*·]\s+/, "") }];
    const last = blocks[blocks.length - 1];
    if (last?.kind === "ul") last.items.push(item);
    else blocks.push({ kind: "ul", items: [item] });
  }
  return blocks;
}
