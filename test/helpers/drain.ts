// "Nothing more arrives", asked of the queues rather than of the clock: every email, webhook and
// feed rebuild is a job, so once no queue of the test's prefix holds work (waiting, active,
// delayed, prioritized or waiting for children), nothing more can be sent. A fixed sleep either
// wastes time or, on a loaded machine, looks too early and passes when a duplicate was on its way.
import type { Queue } from "bullmq";
import { QUEUE_NAMES, type QueueName } from "../../src/jobs/queues.ts";
import type { Runtime } from "../../src/runtime.ts";
import { eventually } from "./runtime.ts";

const PENDING = ["waiting", "active", "delayed", "prioritized", "waiting-children"] as const;

/**
 * Checks in a row that must find every queue empty. A job moves between states inside one BullMQ
 * script (active -> delayed on a retry, active -> completed while it adds the next job), so one
 * empty reading already means empty; the second guards against work added from outside a job
 * just after the first (an HTTP handler, a test's own call still resolving).
 */
const STABLE_CHECKS = 2;

/**
 * Waits until the queues of `rt` hold no pending work, or fails naming each queue and its counts.
 * `queues`: only these (the queues the test runs workers for: jobs of a queue nobody serves
 * would wait forever). Jobs that a job scheduler keeps delayed (the hourly digest tick) are not
 * work: they are always there.
 */
export async function drained(
  rt: Runtime,
  opts: { queues?: readonly QueueName[]; timeoutMs?: number } = {},
): Promise<void> {
  const queues = opts.queues ?? QUEUE_NAMES;
  let busy: string[] = [];
  let empty = 0;
  try {
    await eventually(
      async () => {
        busy = (await Promise.all(queues.map((name) => pendingIn(rt.queues[name], name)))).filter((s) => s !== "");
        empty = busy.length ? 0 : empty + 1;
        return empty >= STABLE_CHECKS;
      },
      opts.timeoutMs ?? 15_000,
      () => `the queues of ${rt.config.prefix} to drain; still pending: ${busy.join("; ") || "(the checks failed)"}`,
    );
  } catch (err) {
    // Which jobs: enough to tell a slow job from a stuck one.
    const jobs = await Promise.all(queues.map((name) => pendingJobs(rt.queues[name], name))).catch(() => []);
    (err as Error).message += `\n${jobs.flat().join("\n")}`;
    throw err;
  }
}

async function pendingJobs(queue: Queue, name: QueueName): Promise<string[]> {
  const jobs = await queue.getJobs(["active", "waiting", "delayed", "prioritized"], 0, 4);
  const now = Date.now();
  return Promise.all(
    jobs
      .filter((job) => job && !job.repeatJobKey)
      .map(async (job) => {
        const since = job.processedOn ? `, active for ${now - job.processedOn} ms` : "";
        return `  ${name} ${job.id} "${job.name}" (${await job.getState()}, attempts ${job.attemptsMade}${since}) ${JSON.stringify(job.data).slice(0, 200)}`;
      }),
  );
}

/** "emails: active=1 delayed=2", or "" when nothing is pending. */
async function pendingIn(queue: Queue, name: QueueName): Promise<string> {
  const counts = await queue.getJobCounts(...PENDING);
  if (counts.delayed) {
    const delayed = await queue.getDelayed(0, counts.delayed - 1);
    counts.delayed -= delayed.filter((job) => job?.repeatJobKey).length;
  }
  const open = Object.entries(counts).filter(([, n]) => n > 0);
  return open.length ? `${name}: ${open.map(([state, n]) => `${state}=${n}`).join(" ")}` : "";
}
