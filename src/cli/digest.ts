// `herald digest run daily|weekly [--dry-run] [--wait]` and
// `herald digest preview daily|weekly --email ADDR --out FILE.html`.
// A run goes through the queue (the workers of `herald start` do it); --dry-run only reads,
// so it counts here and sends nothing.
import { writeFileSync } from "node:fs";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { type DigestSummary, previewDigest, runDigest } from "../mail/digests.ts";
import { type DigestJob, jobId, QUEUE } from "../jobs/queues.ts";
import { type LedgerDeps, ledgerOf } from "../mail/ledger.ts";
import type { Runtime } from "../runtime.ts";
import type { DigestFrequency } from "../subscribers/model.ts";
import { SubscriberService } from "../subscribers/service.ts";
import { action, CliError, withRuntime } from "./context.ts";
import { timeoutOption, waitForJob, workerWatch } from "./wait.ts";

function frequencyOf(f: string): DigestFrequency {
  if (f !== "daily" && f !== "weekly") throw new CliError(`unknown digest ${JSON.stringify(f)}: use daily or weekly`);
  return f;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function formatSegments(s: DigestSummary): string {
  if (s.parts) return `${s.frequency} digest at ${s.at}: ${s.readers} reader(s) handed to ${s.parts} planning job(s)`;
  const lines = [`${s.frequency} digest at ${s.at}: ${s.readers} reader(s) in ${s.segments.length} segment(s)`];
  for (const seg of s.segments)
    lines.push(`  ${seg.segment}\t${seg.language}\t${seg.releases} release(s)\t${seg.readers} reader(s)`);
  return lines.join("\n");
}

/**
 * Waits for the run job, then for its emails, with a progress bar. Gives up with "no worker is
 * running" when the digests (then the emails) queue has had no worker for `noWorkerMs`.
 */
async function waitForRun(rt: LedgerDeps & Pick<Runtime, "queues">, id: string, noWorkerMs: number): Promise<void> {
  const job = await waitForJob(rt, QUEUE.digests, id, { noWorkerMs });
  const summary = (job.returnvalue as DigestSummary[] | null)?.[0];
  if (!summary) return;
  process.stdout.write(`${formatSegments(summary)}\n`);
  const ledger = ledgerOf(rt);
  const emailWorkers = workerWatch(rt, QUEUE.emails, noWorkerMs, `the digest's emails stay queued`);
  const bar = new SingleBar({ format: "sending [{bar}] {value}/{total} emails", hideCursor: true });
  bar.start(summary.readers, 0);
  for (;;) {
    const p = await ledger.progress(summary.edition);
    const done = p.sent + p.skipped + p.failed;
    // A split run: its part jobs are still planning while the digests queue has work; the total
    // is what they planned (readers with nothing new are not in it).
    // (Only this run's parts: the hourly scheduler always keeps a delayed tick in the queue.)
    const planning = summary.parts
      ? (await rt.queues[QUEUE.digests].getJobs(["waiting", "active", "delayed", "prioritized"])).some(
          (j) => j?.name === "part" && j.data.edition === summary.edition,
        )
      : false;
    const total = summary.parts && !planning ? p.total : summary.readers;
    bar.setTotal(total);
    bar.update(Math.min(done, total));
    const pending = await rt.queues[QUEUE.emails].getJobCounts("waiting", "active", "delayed", "prioritized");
    if (!planning && (done >= total || Object.values(pending).every((n) => n === 0))) {
      bar.stop();
      process.stdout.write(`sent ${p.sent}, skipped ${p.skipped}, failed ${p.failed}\n`);
      return;
    }
    try {
      await emailWorkers((pending.active ?? 0) === 0);
    } catch (err) {
      bar.stop();
      throw err;
    }
    await sleep(250);
  }
}

export function registerDigest(program: Command): void {
  const cmd = program.command("digest").description("email digests: run now, or preview one reader's");

  cmd
    .command("run FREQUENCY")
    .description("queue a daily or weekly digest for every confirmed reader of it, now")
    .option("--dry-run", "count readers per segment; send nothing")
    .option("--wait", "wait until the emails are sent, with a progress bar")
    .option(
      "--timeout <seconds>",
      "with --wait: give up when no worker has served the queue for this long",
      timeoutOption,
      10_000,
    )
    .addHelpText(
      "after",
      "\nExamples:\n  npx herald digest run daily --dry-run\n  npx herald digest run weekly --wait --timeout 30",
    )
    .action(
      action(async (f: string, o: { dryRun?: boolean; wait?: boolean; timeout: number }) => {
        const frequency = frequencyOf(f);
        await withRuntime(async (rt) => {
          const at = rt.clock.now();
          if (o.dryRun) {
            process.stdout.write(`${formatSegments(await runDigest(rt, frequency, at, { dryRun: true }))}\n`);
            return;
          }
          const data: DigestJob = { frequency, at: new Date(at).toISOString() };
          const id = jobId.digestRun(frequency, at);
          await rt.queues[QUEUE.digests].add("run", data, { jobId: id });
          process.stdout.write(`queued ${id}\n`);
          if (o.wait) await waitForRun(rt, id, o.timeout);
        });
      }),
    );

  cmd
    .command("preview FREQUENCY")
    .description("write the exact HTML digest this reader would get now")
    .requiredOption("--email <addr>", "the subscriber")
    .requiredOption("--out <file.html>", "where to write it")
    .action(
      action(async (f: string, o: { email: string; out: string }) => {
        const frequency = frequencyOf(f);
        await withRuntime(async (rt) => {
          const s = await new SubscriberService(rt).store.byEmail(
            o.email.trim().replace(/@.*$/, (d) => d.toLowerCase()),
          );
          if (!s) throw new CliError(`no subscriber with address ${o.email}`);
          const html = await previewDigest(rt, frequency, s, rt.clock.now());
          if (html === null)
            throw new CliError(`nothing new for ${s.email} since their last digest: no email would be sent`);
          writeFileSync(o.out, html);
          process.stdout.write(`wrote ${o.out} (${html.length} bytes)\n`);
        });
      }),
    );
}
