// Other ways to write a URL path, generated rather than listed, as an attacker would try them:
// each character percent-encoded (upper- and lower-case hex), double-encoded, everything encoded,
// doubled slashes, dot segments (plain and encoded), `;params`, case changes, trailing slashes,
// backslashes, query strings and fragments, and the absolute form of the request target.

const hex = (c: string) => c.charCodeAt(0).toString(16).padStart(2, "0");
const enc = (c: string) => `%${hex(c).toUpperCase()}`;
const encLower = (c: string) => `%${hex(c)}`;
const dbl = (c: string) => `%25${hex(c).toUpperCase()}`;
const triple = (c: string) => `%2525${hex(c).toUpperCase()}`;

export function spellings(path: string, origin: string): string[] {
  const out = new Set<string>();
  const add = (s: string) => {
    if (s !== path) out.add(s);
  };
  const chars = [...path];
  const at = (i: number, sub: string) => chars.slice(0, i).join("") + sub + chars.slice(i + 1).join("");

  for (let i = 0; i < chars.length; i++) {
    add(at(i, enc(chars[i]!)));
    add(at(i, encLower(chars[i]!)));
    add(at(i, dbl(chars[i]!)));
    add(at(i, triple(chars[i]!)));
    if (chars[i] === "/") {
      add(at(i, "//"));
      add(at(i, "/./"));
      add(at(i, "/%2e/"));
      add(at(i, "/x/../"));
      add(at(i, "/x/%2e%2e/"));
      add(at(i, "/x/%2E%2E%2F"));
      add(at(i, "\\"));
      add(at(i, "%5C"));
      add(at(i, "/;x/"));
    } else if (/[a-z]/.test(chars[i]!)) {
      add(at(i, chars[i]!.toUpperCase()));
    }
  }
  const segments = path.split("/");
  for (let i = 1; i < segments.length; i++) {
    const withParam = [...segments];
    withParam[i] = `${withParam[i]};x=1`;
    add(withParam.join("/"));
    const upper = [...segments];
    upper[i] = upper[i]!.toUpperCase();
    add(upper.join("/"));
    const encoded = [...segments];
    encoded[i] = [...encoded[i]!].map(enc).join("");
    add(encoded.join("/"));
  }
  add(chars.map((c) => (c === "/" ? c : enc(c))).join(""));
  add(chars.map(enc).join(""));
  add(chars.map((c) => (c === "/" ? c : dbl(c))).join(""));
  add(path.toUpperCase());
  for (const suffix of [
    "/",
    "//",
    "/.",
    "/./",
    "/..",
    ";",
    ";x",
    "%00",
    "%20",
    "%09",
    "?",
    "?x=1",
    "?x=1&x=2",
    "#x",
    "%23x",
    "%3Fx=1",
    ".",
    "~",
  ])
    add(path + suffix);
  for (const prefix of ["/", "//", "/.", "/./.", "/feeds/..", "/x/..", "/%2e", "/feeds/%2e%2e"]) add(prefix + path);
  add(origin + path);
  add(origin.replace("http://", "HTTP://") + path);
  add(`http://example.org${path}`);
  return [...out];
}
