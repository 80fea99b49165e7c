// One throwaway redis-server for the whole run (or REDIS_URL when set); tests isolate by prefix.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { freePort, startRedisServer } from "../../src/redis/embedded.ts";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    project.provide("redisUrl", fromEnv);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), "herald-test-redis-"));
  const server = await startRedisServer({ dir, port: await freePort(), appendonly: false });
  project.provide("redisUrl", server.url);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
