// A runtime per test: its own key prefix on the shared throwaway Redis, removed afterwards.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { inject } from "vitest";
import type { Clock } from "../../src/clock.ts";
import { type Config, testConfig } from "../../src/config/index.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";

export function redisUrl(): string {
  return inject("redisUrl");
}

export function uniquePrefix(label = "t"): string {
  return `test-${label}-${randomBytes(4).toString("hex")}`;
}

export interface TestRuntime extends Runtime {
  /** Closes the runtime and deletes every key under its prefix. */
  destroy(): Promise<void>;
}

export async function testRuntime(
  opts: { config?: Partial<Config>; clock?: Clock; label?: string } = {},
): Promise<TestRuntime> {
  const prefix = uniquePrefix(opts.label);
  const config = testConfig({ prefix, ...opts.config });
  const rt = await createRuntime({ config, redisUrl: redisUrl(), clock: opts.clock });
  return Object.assign(rt, {
    async destroy() {
      await rt.close();
      await deletePrefix(config.prefix);
    },
  });
}

export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl());
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/**
 * Waits until `check` returns a truthy value (polling), or fails after `timeoutMs`. `what` names
 * the condition in the failure; as a function it is read at the timeout, so it can say what the
 * last check saw.
 */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 10_000,
  what: string | (() => string) = "condition",
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const said = typeof what === "function" ? what() : what;
  throw new Error(`timed out waiting for ${said}${last ? `: ${(last as Error).message}` : ""}`);
}
