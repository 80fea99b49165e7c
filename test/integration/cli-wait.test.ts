// `digest run --wait` and `feeds rebuild --wait` print what the job returned (src/cli/wait.ts).
// A job that ends between the wait's read of it and its read of the state must still be
// answered with its result, not with the copy read before it ended (which has none).
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import { waitForJob } from "../../src/cli/wait.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import type { Runtime } from "../../src/runtime.ts";
import { eventually, redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

it("answers with the result of a job that completed between reading it and reading its state", async () => {
  const rt: TestRuntime = await testRuntime({ label: "wait" });
  cleanup.push(() => rt.destroy());
  const q = rt.queues[QUEUE.feeds];
  await q.add("probe", {}, { jobId: "probe-1" });
  const stale = await q.getJob("probe-1"); // read while it waits: no result yet
  expect(stale?.returnvalue ?? null).toBeNull();

  const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const worker = new Worker(QUEUE.feeds, async () => ({ rebuilt: 3 }), {
    connection,
    prefix: rt.queuePrefix(QUEUE.feeds),
  });
  cleanup.push(() => connection.quit());
  cleanup.push(() => worker.close());
  await eventually(async () => expect(await (await q.getJob("probe-1"))?.getState()).toBe("completed"));

  // The wait's first read returns the copy from before the job ended; its state is "completed".
  let reads = 0;
  const racing = Object.create(q, {
    getJob: { value: async (id: string) => (reads++ === 0 ? stale : q.getJob(id)) },
  });
  const seen = { ...rt, queues: { ...rt.queues, [QUEUE.feeds]: racing } } as Runtime;
  const done = await waitForJob(seen, QUEUE.feeds, "probe-1", { noWorkerMs: 5_000 });
  expect(done.returnvalue).toEqual({ rebuilt: 3 });
});
