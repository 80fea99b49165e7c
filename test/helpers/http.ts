// A Herald HTTP app on a test runtime, driven with fastify.inject (no socket needed).
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/http/app.ts";
import type { Runtime } from "../../src/runtime.ts";

export const TEST_TOKEN = "test-token-0123456789abcdef";

export async function testApp(rt: Runtime): Promise<FastifyInstance> {
  const app = await buildApp(rt, { apiToken: TEST_TOKEN });
  await app.ready();
  return app;
}

export const auth = { authorization: `Bearer ${TEST_TOKEN}` };
