// `herald jobs show QUEUE ID` and `herald jobs retry QUEUE [ID|--all-failed]`: look at one job and
// put failed ones back in line, through BullMQ (never by running the work inline).
import type { Command } from "commander";
import { QUEUE_NAMES, type QueueName } from "../jobs/queues.ts";
import type { Runtime } from "../runtime.ts";
import { action, CliError, withRuntime } from "./context.ts";

function queueOf(rt: Runtime, name: string) {
  if (!(QUEUE_NAMES as string[]).includes(name)) throw new CliError(`unknown queue ${JSON.stringify(name)}; queues: ${QUEUE_NAMES.join(", ")}`);
  return rt.queues[name as QueueName];
}

export function registerJobs(program: Command): void {
  const jobs = program.command("jobs").description("inspect and retry queue jobs");

  jobs
    .command("show <queue> <id>")
    .description("print one job: state, data, attempts, last error")
    .action(
      action(async (queue: string, id: string) => {
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
      }),
    );

  jobs
    .command("retry <queue> [id]")
    .description("retry one failed job, or every failed job with --all-failed")
    .option("--all-failed", "retry every failed job in the queue")
    .action(
      action(async (queue: string, id: string | undefined, opts: { allFailed?: boolean }) => {
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
      }),
    );
}
