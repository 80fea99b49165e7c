// Site chrome as it survives scraping: one-line widgets ("Share", "Print"), menu labels and
// the markers where a release page's own text ends ("Related news", "© 2026 …").
// These lists are deliberately short and exact: a false match deletes a line of the release.

/** Lines that are a single social or page widget, never release text. */
const WIDGET_LINE =
  /^(?:share(?: this(?: page| story| article| release)?)?(?: on \w+)?|print(?: this page)?|tweet|facebook|twitter|x|linkedin|whatsapp|telegram|email this|e-mail this|copy link|download(?: as)? pdf|back to top|read more|skip to (?:main )?content|close|menu|search|toggle navigation)[:.]?$/i;

/** Where a page's own text ends and the site's footer or related content begins. */
const FOOTER_MARKER =
  /^(?:share this(?: page| story| article| release)?\b|related (?:news|stories|content|articles|links|press releases)\b|(?:more|latest|other) (?:news|stories|press releases)\b|follow us\b|stay connected\b|sign up for\b|subscribe to\b|tags?\s*:|©|\(c\) \d{4}|copyright\b|all rights reserved\b)/i;

/** Labels of the sample organisation's menus and of common newsroom sites. */
const MENU_LABELS = new Set(
  [
    "home",
    "about",
    "about us",
    "who we are",
    "our work",
    "what we do",
    "where we work",
    "take action",
    "get involved",
    "work with us",
    "donate",
    "partnerships",
    "highlights",
    "data and research",
    "2030 agenda",
    "news",
    "news and stories",
    "media",
    "media centre",
    "media center",
    "newsroom",
    "press releases",
    "press room",
    "stories",
    "events",
    "publications",
    "resources",
    "careers",
    "jobs",
    "contact",
    "contact us",
    "english",
    "français",
    "español",
    "العربية",
    "languages",
    "language",
    "log in",
    "login",
    "sign in",
    "subscribe",
    "main menu",
    "navigation",
    "breadcrumb",
    "you are here",
    "global",
    "regional offices",
    "country offices",
  ].map((label) => label.toLowerCase()),
);

export function isWidgetLine(line: string): boolean {
  return WIDGET_LINE.test(line.trim());
}

export function isFooterMarker(line: string): boolean {
  return FOOTER_MARKER.test(line.trim());
}

export function isMenuLabel(line: string): boolean {
  return MENU_LABELS.has(line.trim().replace(/[:.]$/, "").toLowerCase());
}

/** "Home > News > Title", "Home » Media": a trail from a menu label, or of three steps. */
export function isBreadcrumbLine(line: string): boolean {
  const segments = line.split(/\s+[>»›]\s+/);
  return segments.length >= 3 || (segments.length === 2 && isMenuLabel(segments[0]!));
}

export function isCookieLine(line: string): boolean {
  return /\b(?:cookies?|cookie policy|accept all|privacy settings)\b/i.test(line) && line.length < 400;
}
