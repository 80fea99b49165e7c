// Waiting on the workers from the CLI (`digest run --wait`, `feeds rebuild --wait`) without
// waiting forever: the job is done by whatever `herald start` process serves its queue, so a
// wait first makes sure one is connected, and gives up with one line when none is.
import type { Job } from "bullmq";
import { InvalidArgumentError } from "commander";
import type { QueueName } from "../jobs/queues.ts";
import type { Runtime } from "../runtime.ts";
import { CliError } from "./context.ts";

/** What BullMQ returns in place of the list when Redis refuses CLIENT LIST (some managed services). */
const NO_CLIENT_LIST = /does not support client list/;

/** Worker connections serving `queue` across every process on this Redis; null when Redis does not say. */
export async function connectedWorkers(rt: Pick<Runtime, "queues">, queue: QueueName): Promise<number | null> {
  const workers = await rt.queues[queue].getWorkers();
  if (workers.some((w) => NO_CLIENT_LIST.test(String(w.name)))) return null;
  return workers.length;
}

export interface WaitOptions {
  /** Give up after this long without any worker connected to the queue (or, when Redis hides its clients, without the job starting). */
  noWorkerMs: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Waits until job `id` of `queue` completes and returns it; throws a CliError when it fails, is
 * gone, or when no worker serves the queue for `noWorkerMs` in a row (the job stays queued).
 */
export async function waitForJob(
  rt: Pick<Runtime, "queues">,
  queue: QueueName,
  id: string,
  opts: WaitOptions,
): Promise<Job> {
  const q = rt.queues[queue];
  const sleep = opts.sleep ?? defaultSleep;
  const check = workerWatch(rt, queue, opts.noWorkerMs, `job ${id} stays queued`);
  for (;;) {
    const job = await q.getJob(id);
    if (!job) throw new CliError(`job ${id} is gone from the ${queue} queue`);
    const state = await job.getState();
    if (state === "failed" || state === "completed") {
      // The copy above was read before its state: a job that ended in between has no result or
      // reason in it yet. Read it again (or keep that copy if it has been removed since).
      const ended = (await q.getJob(id)) ?? job;
      if (state === "failed") throw new CliError(`${queue} job ${id} failed: ${ended.failedReason}`);
      return ended;
    }
    await check(state !== "active");
    await sleep(opts.pollMs ?? 250);
  }
}

/**
 * One check of "is anyone serving this queue": resets the idle clock when a worker is there,
 * else throws once the queue has had no worker for `limitMs`.
 */
async function ensureWorker(
  rt: Pick<Runtime, "queues">,
  queue: QueueName,
  notStarted: boolean,
  idleFor: () => number,
  reset: () => void,
  limitMs: number,
  what: string,
): Promise<void> {
  const workers = await connectedWorkers(rt, queue);
  // Unknown worker count: a job that is being worked on proves a worker; a waiting one does not.
  const served = workers === null ? !notStarted : workers > 0;
  if (served) return reset();
  if (idleFor() >= limitMs) {
    throw new CliError(
      `no worker is running for queue ${queue} (waited ${Math.round(limitMs / 1000)} s): start one with \`npx herald start\` (or --workers-only); ${what}`,
    );
  }
}

/** Tracks "no worker for N ms in a row" across polls of a longer wait (the emails of a digest). */
export function workerWatch(rt: Pick<Runtime, "queues">, queue: QueueName, limitMs: number, what: string) {
  let idleSince: number | null = null;
  return (notStarted: boolean) =>
    ensureWorker(
      rt,
      queue,
      notStarted,
      () => {
        idleSince ??= Date.now();
        return Date.now() - idleSince;
      },
      () => {
        idleSince = null;
      },
      limitMs,
      what,
    );
}

/** `--timeout SECONDS` of a waiting command, in ms (commander reports a bad value in one line). */
export function timeoutOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400)
    throw new InvalidArgumentError("give seconds, more than 0 and at most 86400");
  return Math.round(n * 1000);
}
