// `herald jobs list QUEUE [--state S]`, `herald jobs show QUEUE ID` and
// `herald jobs retry QUEUE [ID|--all-failed]`: find jobs, look at one and put failed ones back in
// line, through BullMQ (never by running the work inline).
import type { Command } from "commander";
import { QUEUE_NAMES, type QueueName } from "../jobs/queues.ts";
import type { Runtime } from "../runtime.ts";
import { action, CliError, withRuntime } from "./context.ts";

const JOB_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "failed", "completed"] as const;
type JobState = (typeof JOB_STATES)[number];

interface ListOptions {
  state?: string;
  limit: string;
  json?: boolean;
  ids?: boolean;
}

/** One row of `jobs list`. */
interface JobRow {
  id: string;
  name: string;
  state: string;
  createdAt: string;
  attemptsMade: number;
  failedReason: string | null;
}

export function registerJobs(program: Command): void {
  const jobs = program.command("jobs").description("list, inspect and retry queue jobs");
  registerList(jobs);
  registerShow(jobs);
  registerRetry(jobs);
}

function registerList(jobs: Command): void {
  jobs
    .command("list <queue>")
    .description("the newest jobs of a queue with their ids (to use with show and retry)")
    .option("--state <state>", `only jobs in this state: ${JOB_STATES.join(", ")}`)
    .option("--limit <n>", "at most this many (newest first)", "20")
    .option("--json", "one JSON object per line")
    .option(
      "--ids",
      "only the job ids, one per line (for scripts: JOB_ID=$(npx herald jobs list feeds --ids --limit 1))",
    )
    .addHelpText(
      "after",
      '\nExamples:\n  npx herald jobs list partners --state failed\n  npx herald jobs list feeds --limit 5 --json\n  npx herald jobs show feeds "$(npx herald jobs list feeds --ids --limit 1)"',
    )
    .action(action(listJobs));
}

function registerShow(jobs: Command): void {
  jobs
    .command("show <queue> <id>")
    .description("print one job: state, data, attempts, last error")
    .action(action(showJob));
}

function registerRetry(jobs: Command): void {
  jobs
    .command("retry <queue> [id]")
    .description("retry one failed job, or every failed job with --all-failed")
    .option("--all-failed", "retry every failed job in the queue")
    .action(action(retryJobs));
}

async function listJobs(queue: string, o: ListOptions): Promise<void> {
  if (o.state !== undefined && !(JOB_STATES as readonly string[]).includes(o.state)) {
    throw new CliError(`unknown state ${JSON.stringify(o.state)}; states: ${JOB_STATES.join(", ")}`);
  }
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new CliError(`--limit ${JSON.stringify(o.limit)}: a whole number from 1 to 10000`);
  await withRuntime(async (rt) => {
    const rows = await newestJobs(rt, queue, o.state as JobState | undefined, limit);
    if (o.ids) {
      for (const r of rows) process.stdout.write(`${r.id}\n`);
      if (!rows.length) throw new CliError(`no ${o.state ? `${o.state} ` : ""}jobs in ${queue}`);
      return;
    }
    if (o.json) {
      for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    if (!rows.length) {
      process.stdout.write(`no ${o.state ?? ""}${o.state ? " " : ""}jobs in ${queue}\n`);
      return;
    }
    for (const r of rows) {
      const why = r.failedReason ? `\t${r.failedReason.replace(/\s+/g, " ").slice(0, 100)}` : "";
      process.stdout.write(`${r.id}\t${r.state}\t${r.name}\t${r.createdAt}\tattempts ${r.attemptsMade}${why}\n`);
    }
  });
}

/** The newest `limit` jobs of `queue` (in `state`, else in any), newest first. */
async function newestJobs(
  rt: Pick<Runtime, "queues">,
  queue: string,
  state: JobState | undefined,
  limit: number,
): Promise<JobRow[]> {
  const q = queueOf(rt, queue);
  const states = state ? [state] : [...JOB_STATES];
  const found = (await q.getJobs(states, 0, limit - 1, false)).filter((j) => j?.id);
  found.sort((a, b) => b.timestamp - a.timestamp);
  return Promise.all(
    found.slice(0, limit).map(async (j) => ({
      id: j.id!,
      name: j.name,
      state: state ?? (await j.getState()),
      createdAt: new Date(j.timestamp).toISOString(),
      attemptsMade: j.attemptsMade,
      failedReason: j.failedReason ?? null,
    })),
  );
}

async function showJob(queue: string, id: string): Promise<void> {
  await withRuntime(async (rt) => {
    const job = await queueOf(rt, queue).getJob(id);
    if (!job) throw new CliError(`no job ${id} in queue ${queue}`);
    const out = {
      queue,
      id: job.id,
      name: job.name,
      state: await job.getState(),
      data: job.data,
      attemptsMade: job.attemptsMade,
      attempts: job.opts.attempts,
      createdAt: new Date(job.timestamp).toISOString(),
      processedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
      finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      delayUntil: job.delay ? new Date(job.timestamp + job.delay).toISOString() : null,
      failedReason: job.failedReason ?? null,
      returnValue: job.returnvalue ?? null,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  });
}

async function retryJobs(queue: string, id: string | undefined, opts: { allFailed?: boolean }): Promise<void> {
  if (!id && !opts.allFailed) throw new CliError("name a job id or pass --all-failed");
  if (id && opts.allFailed) throw new CliError("name a job id or pass --all-failed, not both");
  await withRuntime(async (rt) => {
    const q = queueOf(rt, queue);
    if (id) {
      const job = await q.getJob(id);
      if (!job) throw new CliError(`no job ${id} in queue ${queue}`);
      const state = await job.getState();
      if (state !== "failed") throw new CliError(`job ${id} is ${state}, not failed; only failed jobs can be retried`);
      await job.retry("failed");
      process.stdout.write(`retrying ${queue} job ${id}\n`);
      return;
    }
    const count = await q.getFailedCount();
    await q.retryJobs({ state: "failed", count: 1000 });
    process.stdout.write(`retrying ${count} failed job(s) in ${queue}\n`);
  });
}

function queueOf(rt: Pick<Runtime, "queues">, name: string) {
  if (!(QUEUE_NAMES as string[]).includes(name))
    throw new CliError(`unknown queue ${JSON.stringify(name)}; queues: ${QUEUE_NAMES.join(", ")}`);
  return rt.queues[name as QueueName];
}
