// Failed logins (a wrong API token, dashboard password or metrics token) counted per client in
// Redis, so every web process shares the count. After AUTH_MAX_FAILURES in AUTH_FAILURE_WINDOW_S
// the client is refused with 429 until the window ends, even with the right secret: a locked
// client learns nothing more, so a guesser gets at most AUTH_MAX_FAILURES tries per window.
//
// One Lua script per guarded request reads the lock and, for a failure, counts it and starts the
// window (INCR + PEXPIRE in one step): concurrent guesses cannot slip past the limit between a
// read and a write. A success does not reset the count (a guesser sharing the address with a
// real client would otherwise get a fresh budget after each of the client's requests).
import ipaddr from "ipaddr.js";
import type { Redis } from "ioredis";
import { type KeyBuilder, keyBuilder } from "../redis/keys.ts";

const SCRIPT = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    ttl = tonumber(ARGV[3])
  end
  return {1, n, ttl}
end
if ARGV[1] == '1' then
  n = redis.call('INCR', KEYS[1])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    ttl = tonumber(ARGV[3])
  end
  return {0, n, ttl}
end
return {0, n, 0}
`;

export interface LoginVerdict {
  /** Refused before looking at the credential: too many failures in the window. */
  locked: boolean;
  /** Failures counted in the current window (this one included). */
  failures: number;
  /** Seconds until the window ends (for Retry-After). */
  retryAfterS: number;
}

/**
 * The client a failure is counted against: its address, IPv4-mapped IPv6 as IPv4, and IPv6 by
 * its /64 (one host usually owns a whole /64, and could otherwise try from each address in it).
 */
export function clientKey(ip: string): string {
  try {
    const addr = ipaddr.process(ip);
    if (addr.kind() === "ipv4") return addr.toString();
    const parts = (addr as ipaddr.IPv6).parts.slice(0, 4);
    return `${parts.map((p) => p.toString(16)).join(":")}::/64`;
  } catch {
    // Not an address (a trusted proxy forwarded garbage): counted as itself, bounded in length.
    return `other:${ip.slice(0, 64)}`;
  }
}

export class LoginFailures {
  private readonly keyOf: KeyBuilder;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly maxFailures: number,
    private readonly windowS: number,
  ) {
    this.keyOf = keyBuilder(prefix, "auth-failures");
  }

  key(ip: string): string {
    return this.keyOf(clientKey(ip));
  }

  /** Reads the lock and, when `failed`, counts this failure; atomically. */
  async record(ip: string, failed: boolean): Promise<LoginVerdict> {
    const [locked, failures, ttl] = (await this.redis.eval(
      SCRIPT,
      1,
      this.key(ip),
      failed ? "1" : "0",
      String(this.maxFailures),
      String(this.windowS * 1000),
    )) as [number, number, number];
    return { locked: locked === 1, failures, retryAfterS: Math.max(1, Math.ceil(Number(ttl) / 1000)) };
  }
}
