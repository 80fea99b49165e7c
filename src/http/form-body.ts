// Form bodies (application/x-www-form-urlencoded) must be UTF-8, as JSON ones must (json-body.ts).
// A browser percent-encodes the UTF-8 bytes of each field; a sequence that is not UTF-8 (a form
// sent as Latin-1, a hand-made request) used to be decoded to U+FFFD and stored in a reader's
// name. It now gets a 400 that says so, and nothing is stored. Repeated fields (the topic and
// region checkboxes) become arrays, in order. multipart/form-data (RFC 8058 allows it for the
// one-click unsubscribe) is read by parseMultipart under the same UTF-8 rule, bounded in size.
import type { FastifyInstance } from "fastify";
import { invalid } from "../errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const NOT_UTF8 = 'the form is not valid UTF-8: send it encoded as UTF-8 (accept-charset="utf-8")';

export type FormFields = Record<string, string | string[]>;

export function parseForm(body: Buffer): FormFields {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw invalid(NOT_UTF8);
  }
  const fields: FormFields = Object.create(null);
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeField(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeField(eq < 0 ? "" : pair.slice(eq + 1));
    const seen = fields[name];
    fields[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return fields;
}

function decodeField(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll("+", " "));
  } catch {
    // decodeURIComponent refuses both a broken escape ("%zz") and escapes that are not UTF-8.
    throw invalid(
      `${NOT_UTF8}; a field has an escape that is not UTF-8 or is broken: ${JSON.stringify(raw.slice(0, 60))}`,
    );
  }
}

/** Form-data bodies are a few short fields (RFC 8058 one-click sends one): anything bigger is refused. */
export const MULTIPART_LIMIT = 64 * 1024;
const MAX_PARTS = 200;
const CRLF2 = Buffer.from("\r\n\r\n");

/** The boundary parameter of a multipart/form-data Content-Type (RFC 2046 §5.1.1: 1-70 characters). */
function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  if (!b) throw invalid("multipart/form-data needs a boundary parameter of 1 to 70 characters in Content-Type");
  return b;
}

/**
 * multipart/form-data (RFC 7578), as RFC 8058 allows for a one-click unsubscribe and as a
 * browser sends a form with enctype="multipart/form-data". Only text fields are read: a part
 * with a filename (an upload) is skipped. Field names and values must be UTF-8, as in parseForm.
 */
export function parseMultipart(body: Buffer, contentType: string): FormFields {
  const boundary = boundaryOf(contentType);
  const first = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  const fields: FormFields = Object.create(null);
  let at = body.indexOf(first);
  if (at !== 0 && !(at > 0 && body.subarray(0, at).toString("latin1").endsWith("\r\n"))) {
    throw invalid("the multipart body does not start with its boundary");
  }
  at += first.length;
  for (let parts = 0; ; parts++) {
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return fields; // "--": the closing delimiter
    if (parts >= MAX_PARTS) throw invalid(`the multipart body has more than ${MAX_PARTS} parts`);
    while (body[at] === 0x20 || body[at] === 0x09) at++; // transport padding
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a)
      throw invalid("the multipart body is malformed: a boundary line does not end with CRLF");
    at += 2;
    const end = body.indexOf(between, at);
    if (end < 0) throw invalid("the multipart body is not closed by its final boundary");
    const part = body.subarray(at, end);
    at = end + between.length;
    const split = part.subarray(0, 2).toString("latin1") === "\r\n" ? 0 : part.indexOf(CRLF2);
    if (split < 0) throw invalid("the multipart body is malformed: a part has no blank line after its headers");
    const head = decodeUtf8(part.subarray(0, split)).replace(/\r\n[ \t]+/g, " ");
    const disposition = /^content-disposition:[ \t]*form-data\b(.*)$/im.exec(head)?.[1];
    if (disposition === undefined) continue;
    if (/;\s*filename\*?=/i.test(disposition)) continue; // a file: not a field
    const name = /;\s*name=(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))/i.exec(disposition);
    if (!name) continue;
    const key = (name[1] ?? name[2]!).replace(/\\(.)/g, "$1");
    const value = decodeUtf8(part.subarray(split === 0 ? 2 : split + CRLF2.length));
    const seen = fields[key];
    fields[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalid(`${NOT_UTF8}; a multipart field is not UTF-8`);
  }
}

export function strictFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser(
    "multipart/form-data",
    { parseAs: "buffer", bodyLimit: MULTIPART_LIMIT },
    (req, body, done) => {
      try {
        done(null, parseMultipart(body as Buffer, String(req.headers["content-type"] ?? "")));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer" }, (_req, body, done) => {
    try {
      done(null, parseForm(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
