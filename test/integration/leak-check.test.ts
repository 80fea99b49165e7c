// The leak check itself (test/helpers/leaks.ts, run after every test file by leak-check.ts):
// it must name a Worker and a Redis connection left open, and name nothing once they are closed.
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { expect, it } from "vitest";
import { leftOpen } from "../helpers/leaks.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "../helpers/runtime.ts";

async function workerOnItsConnection(prefix: string) {
  const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const worker = new Worker("leak-probe", async () => undefined, { connection, prefix });
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      await connection.quit();
    },
  };
}

it("names a BullMQ Worker and a Redis connection left open, and nothing once they are closed", async () => {
  const prefix = uniquePrefix("leak");
  const left = await workerOnItsConnection(prefix);
  const open = await leftOpen();
  expect(open.some((s) => s.includes('a BullMQ Worker of queue "leak-probe"'))).toBe(true);
  expect(open.some((s) => s.startsWith("Redis connection") && s.includes("leak-check.test.ts"))).toBe(true);
  await left.close();

  const closed = await workerOnItsConnection(prefix);
  await closed.close();
  expect(await leftOpen()).toEqual([]);
  await deletePrefix(prefix);
});
