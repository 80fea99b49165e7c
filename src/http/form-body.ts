// Form bodies (application/x-www-form-urlencoded) must be UTF-8, as JSON ones must (json-body.ts).
// A browser percent-encodes the UTF-8 bytes of each field; a sequence that is not UTF-8 (a form
// sent as Latin-1, a hand-made request) used to be decoded to U+FFFD and stored in a reader's
// name. It now gets a 400 that says so, and nothing is stored. Repeated fields (the topic and
// region checkboxes) become arrays, in order.
import type { FastifyInstance } from "fastify";
import { invalid } from "../errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const NOT_UTF8 = "the form is not valid UTF-8: send it encoded as UTF-8 (accept-charset=\"utf-8\")";

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
    throw invalid(`${NOT_UTF8}; a field has an escape that is not UTF-8 or is broken: ${JSON.stringify(raw.slice(0, 60))}`);
  }
}

export function strictFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer" }, (_req, body, done) => {
    try {
      done(null, parseForm(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
