// A small MIME reader for the messages mail servers send back (reports, see feedback.ts): the
// header block, Content-Type with its parameters, multipart bodies split on their boundary,
// and base64 / quoted-printable bodies decoded. Bytes are handled as latin1 strings, so nothing
// is lost before a part is decoded. It reads structure only; it never renders anything.

export interface MimePart {
  /** Lower-case header names; a repeated header keeps every value, in order. */
  headers: Map<string, string[]>;
  /** "multipart/report", lower case; "text/plain" when the part names none. */
  type: string;
  params: Record<string, string>;
  /** The body after transfer decoding (latin1: one char per byte). */
  body: string;
  parts: MimePart[];
}

const MAX_DEPTH = 8;

/** Splits a header block (no body) into unfolded fields. Lines that are not fields are skipped. */
export function parseHeaderBlock(block: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (const line of block.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const m = /^([!-9;-~]+):[ \t]*(.*)$/.exec(line);
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    const list = headers.get(name) ?? [];
    list.push(m[2]!.trim());
    headers.set(name, list);
  }
  return headers;
}

export function header(part: Pick<MimePart, "headers">, name: string): string | undefined {
  return part.headers.get(name)?.[0];
}

/** "multipart/report; report-type=delivery-status; boundary=\"b\"" -> type and parameters. */
export function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  if (!value) return { type: "text/plain", params: {} };
  const semi = value.indexOf(";");
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase() || "text/plain";
  const params: Record<string, string> = {};
  if (semi >= 0) {
    for (const m of value.slice(semi).matchAll(/;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g)) {
      const raw = m[2]!.trim();
      params[m[1]!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    }
  }
  return { type, params };
}

/** Reads one entity: headers, then the body, recursively for multiparts. */
export function parseMime(raw: string, depth = 0): MimePart {
  const split = /\r?\n\r?\n/.exec(raw);
  const head = split ? raw.slice(0, split.index) : raw;
  const rest = split ? raw.slice(split.index + split[0].length) : "";
  const headers = parseHeaderBlock(head);
  const { type, params } = parseContentType(header({ headers }, "content-type"));
  const body = decodeTransfer(rest, header({ headers }, "content-transfer-encoding"));
  const parts = type.startsWith("multipart/") && params.boundary && depth < MAX_DEPTH ? splitMultipart(body, params.boundary).map((p) => parseMime(p, depth + 1)) : [];
  return { headers, type, params, body, parts };
}

function splitMultipart(body: string, boundary: string): string[] {
  const escaped = boundary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const delimiter = new RegExp(`(?:^|\\r?\\n)--${escaped}(--)?[ \\t]*(?:\\r?\\n|$)`, "g");
  const parts: string[] = [];
  let start = -1;
  for (const m of body.matchAll(delimiter)) {
    if (start >= 0) parts.push(body.slice(start, m.index));
    if (m[1]) return parts; // the closing delimiter
    start = m.index + m[0].length;
  }
  if (start >= 0) parts.push(body.slice(start)); // no closing delimiter: keep what came
  return parts;
}

function decodeTransfer(body: string, encoding: string | undefined): string {
  switch (encoding?.trim().toLowerCase()) {
    case "base64":
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ""), "base64").toString("latin1");
    case "quoted-printable":
      return body.replace(/=\r?\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    default:
      return body;
  }
}

/** Every part of the tree, depth first, the root included. */
export function* walk(part: MimePart): Generator<MimePart> {
  yield part;
  for (const p of part.parts) yield* walk(p);
}
