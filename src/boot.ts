// Start-up decisions made once per process: which Redis to use (REDIS_URL, the local one, or an
// embedded redis-server for a fresh install) and where the generated secrets live.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "./config/index.ts";
import type { RedisTarget } from "./redis/connection.ts";
import { DEFAULT_REDIS_URL, type EmbeddedRedis, portAnswers, startRedisServer } from "./redis/embedded.ts";

export interface RedisChoice {
  /** A redis:// URL, or the Cluster / Sentinel of the config. */
  url: RedisTarget;
  /** Set when Herald started its own redis-server (stop it on shutdown). */
  embedded?: EmbeddedRedis;
  how: string;
}

export async function chooseRedis(config: Config, allowEmbedded: boolean): Promise<RedisChoice> {
  if (config.redisHa?.mode === "cluster") return { url: config.redisHa, how: "REDIS_CLUSTER_NODES" };
  if (config.redisHa) return { url: config.redisHa, how: "Redis Sentinel" };
  if (config.redisUrl) return { url: config.redisUrl, how: "REDIS_URL" };
  if (await portAnswers(6379)) return { url: DEFAULT_REDIS_URL, how: "the local Redis on 127.0.0.1:6379" };
  if (!allowEmbedded) {
    throw new Error(
      "no Redis: nothing answers on 127.0.0.1:6379 and REDIS_URL is not set; run `herald start` first or set REDIS_URL",
    );
  }
  const dir = path.join(config.varDir, "redis");
  const embedded = await startRedisServer({ dir, port: 6379 });
  return { url: embedded.url, embedded, how: `an embedded redis-server (data in ${dir}, AOF on)` };
}

export interface Secret {
  value: string;
  /** The file it came from or was generated into; undefined when it came from the environment. */
  file?: string;
  generated: boolean;
}

/** The env value, else the one in var/NAME, else a new one written there (mode 0600). */
export function resolveSecret(fromEnv: string | undefined, varDir: string, name: string, bytes = 32): Secret {
  if (fromEnv) return { value: fromEnv, generated: false };
  const file = path.join(varDir, name);
  if (existsSync(file)) {
    const value = readFileSync(file, "utf8").trim();
    if (value.length >= 16) return { value, file, generated: false };
  }
  mkdirSync(varDir, { recursive: true });
  const value = randomBytes(bytes).toString("base64url");
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { value, file, generated: true };
}
