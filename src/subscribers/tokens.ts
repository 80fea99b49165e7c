// Signed links: confirmation (expires) and manage (preferences and unsubscribe; never expires, so
// an unsubscribe link in a years-old email still works). HMAC-SHA256 over the payload with the
// secret key passed in (SECRET_KEY or var/secret-key), so nothing about tokens is stored.
import { createHmac, timingSafeEqual } from "node:crypto";
import { resolveSecret } from "../boot.ts";
import type { Config } from "../config/index.ts";
import { HeraldError } from "../errors.ts";

export type TokenPurpose = "confirm" | "manage";

const CODES: Record<TokenPurpose, string> = { confirm: "c", manage: "m" };
export const CONFIRM_TTL_MS = 7 * 24 * 3600 * 1000;

interface Payload {
  p: string;
  s: string;
  e?: number;
  /** Issued at (ms), on confirm links: an unsubscribe after it voids the link. */
  i?: number;
}

function mac(key: string, body: string): string {
  return createHmac("sha256", key).update(body).digest("base64url");
}

export function signToken(
  key: string,
  purpose: TokenPurpose,
  subscriberId: string,
  expiresAt?: number,
  issuedAt?: number,
): string {
  const payload: Payload = {
    p: CODES[purpose],
    s: subscriberId,
    ...(expiresAt ? { e: expiresAt } : {}),
    ...(issuedAt ? { i: issuedAt } : {}),
  };
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${body}.${mac(key, body).slice(0, 32)}`;
}

export const badToken = (why: string) =>
  new HeraldError("HERALD_BAD_TOKEN", `this link is ${why}; use the newest email from us or subscribe again`, 400);

/**
 * The subscriber id the token was made for; throws HeraldError 400 when it is forged, for another
 * purpose or expired. Several keys: the current one and SECRET_KEY_PREVIOUS after a rotation, so
 * links in emails already sent keep working.
 */
export function verifyToken(
  keys: string | string[],
  purpose: TokenPurpose,
  token: string | undefined,
  now: number,
): string {
  return readToken(keys, purpose, token, now).subscriberId;
}

/**
 * verifyToken, plus when the link was made: its `i`, or for confirm links made before `i`
 * existed, its expiry less CONFIRM_TTL_MS (0 when unknown).
 */
export function readToken(
  keys: string | string[],
  purpose: TokenPurpose,
  token: string | undefined,
  now: number,
): { subscriberId: string; issuedAt: number } {
  const [body, sig] = (typeof token === "string" ? token : "").split(".");
  if (!body || !sig) throw badToken("incomplete");
  const given = Buffer.from(sig);
  const signedBy = (key: string) => {
    const expected = Buffer.from(mac(key, body).slice(0, 32));
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  if (![keys].flat().some(signedBy)) throw badToken("not valid");
  let payload: Payload;
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Payload;
  } catch {
    throw badToken("not valid");
  }
  if (payload.p !== CODES[purpose] || typeof payload.s !== "string") throw badToken("not valid here");
  if (payload.e !== undefined && payload.e < now) throw badToken("expired");
  const issuedAt =
    typeof payload.i === "number" ? payload.i : typeof payload.e === "number" ? payload.e - CONFIRM_TTL_MS : 0;
  return { subscriberId: payload.s, issuedAt };
}

/** The key, or a message saying how to get one (the pages and the mail need it). */
export function requireSecret(key: string | undefined): string {
  if (!key) {
    throw new HeraldError(
      "HERALD_NO_SECRET",
      "SECRET_KEY is not set: set it (32+ characters) or start Herald with `herald start`, which generates var/secret-key",
      503,
    );
  }
  return key;
}

/**
 * The config with its secret key filled in: SECRET_KEY, else var/secret-key (generated on first
 * use). Entry points (`herald start`, CLI commands that make links) call this once; workers and
 * pages then read rt.config.secretKey, and tests pass a fixed key.
 */
export function withSecretKey(config: Config): Config {
  return config.secretKey
    ? config
    : { ...config, secretKey: resolveSecret(undefined, config.varDir, "secret-key").value };
}
