// SSRF guard: a partner URL is resolved here, every address it resolves to is checked, and the
// delivery connects to the checked address itself (no second DNS lookup), so a name that
// resolves to a public address now and to 127.0.0.1 a second later (DNS rebinding) cannot reach
// the inside. Checked when a partner is added and again at every delivery.
import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { HeraldError } from "../errors.ts";

export class UnsafeDestinationError extends HeraldError {
  constructor(message: string) {
    super("HERALD_UNSAFE_URL", message, 400);
    this.name = "UnsafeDestinationError";
  }
}

/** Where a delivery goes: the URL as given and the one address it will connect to. */
export interface Destination {
  url: URL;
  address: string;
  family: 4 | 6;
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (host) => lookup(host, { all: true, verbatim: true });

// IPv6 global unicast is 2000::/3; everything else (IPv4-compatible ::a.b.c.d, site-local, …)
// is refused without further thought.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

/**
 * The reason an address is not a public destination ("loopback", "private", "linkLocal",
 * "uniqueLocal", "carrierGradeNat", "multicast", "unspecified", "reserved", "rfc6052", …), or
 * null when it is public unicast. IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4
 * address it carries.
 */
export function nonPublicRange(address: string): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.process(address.replace(/^\[|\]$/g, ""));
  } catch {
    return "not an IP address";
  }
  const range = ip.range();
  if (range !== "unicast") return range;
  if (ip.kind() === "ipv6" && !(ip as ipaddr.IPv6).match(GLOBAL_UNICAST_V6 as [ipaddr.IPv6, number]))
    return "not global unicast";
  return null;
}

/** Checks a URL's shape: http(s), no credentials; plain http only for private partners. */
export function checkUrlShape(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeDestinationError(
      `partner URL ${JSON.stringify(raw.slice(0, 200))} is not a URL; give e.g. https://partner.example.org/webhooks/herald`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UnsafeDestinationError(`partner URL must be https:// (got ${url.protocol})`);
  }
  if (url.protocol === "http:" && !allowPrivate) {
    throw new UnsafeDestinationError(
      "partner URL must be https://; plain http:// is only allowed with --allow-private",
    );
  }
  if (url.username || url.password) {
    throw new UnsafeDestinationError(
      "partner URL must not carry a user name or password; requests are authenticated by the webhook signature",
    );
  }
  return url;
}

/**
 * Resolves the URL's host once and returns the address to connect to. Refuses (unless
 * `allowPrivate`) when ANY resolved address is non-public: a name that mixes a public and a
 * private answer is an attack, not a partner. WHATWG URL parsing has already turned numeric
 * tricks (0x7f.1, 2130706433, 017700000001) into dotted decimal.
 */
export async function resolveDestination(
  raw: string,
  allowPrivate: boolean,
  resolver: Resolver = systemResolver,
): Promise<Destination> {
  const url = checkUrlShape(raw, allowPrivate);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let answers: { address: string; family: number }[];
  if (ipaddr.isValid(host)) {
    answers = [{ address: host, family: host.includes(":") ? 6 : 4 }];
  } else {
    try {
      answers = await resolver(host);
    } catch (err) {
      throw new UnsafeDestinationError(
        `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    if (answers.length === 0) throw new UnsafeDestinationError(`cannot resolve ${host}: no addresses`);
  }
  if (!allowPrivate) {
    for (const a of answers) {
      const why = nonPublicRange(a.address);
      if (why) {
        const where = a.address === host ? `address ${host} is` : `host ${host} resolves to ${a.address},`;
        throw new UnsafeDestinationError(
          `partner URL ${where} ${why}; only public addresses are allowed unless the partner is added with --allow-private`,
        );
      }
    }
  }
  const first = answers[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
