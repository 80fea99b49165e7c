// Digest fan-out benchmark: N readers (default 100,000; BENCH_READERS or argv[2]) in 51 segments
// (3 languages x 17 topics), 20 releases, one `digest run daily` through the queue to an SMTP
// server in a separate process. Prints emails/s end to end, CPU ms per email, MJML renders, peak
// RSS and Redis memory before/after, then the ceiling: nodemailer's pool sending the same
// messages to the same server with no queue. Shared harness: bench/digest/harness.ts.
//   npx tsx bench/digest-fanout.ts [readers]
import { PROCESSORS } from "../src/jobs/processors.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { IN_FLIGHT } from "../src/mail/send-emails.ts";
import type { Runtime } from "../src/runtime.ts";
import {
  ceiling,
  grown,
  mb,
  redisMemory,
  report,
  round,
  runEdition,
  seedUniform,
  snapshotCursors,
  startBench,
  startHerald,
} from "./digest/harness.ts";

const READERS = Number(process.argv[2] ?? process.env.BENCH_READERS ?? 100_000);
/**
 * Node flags for Herald's process. Its workers run with the heap limit the README recommends for
 * worker processes (docker-compose sets it too); digest-realistic.ts measures without.
 */
const HERALD_FLAGS = process.env.BENCH_HERALD_FLAGS ?? "--max-old-space-size=256";

const b = await startBench();
try {
  const { rt, config } = b;
  // The ceiling gets the concurrency the workers have: jobs at once x messages in flight per job.
  const concurrency = Number(PROCESSORS[QUEUE.emails]!.options!({ config } as Runtime).concurrency ?? 1) * IN_FLIGHT;
  await seedUniform(rt, READERS);
  const before = await redisMemory(rt);
  const cursorsFile = await snapshotCursors(b);
  const herald = await startHerald(b, HERALD_FLAGS);
  const at = Date.now();
  const run = await runEdition(rt, "daily", at);
  const h = await herald.stop();
  const received = await b.received();
  const after = await redisMemory(rt);
  const rate = run.progress.sent / run.seconds;
  const count = Math.min(run.progress.sent, 20_000);
  const c = await ceiling(b, { frequency: "daily", at, cursorsFile, count, concurrency });
  const ceilingRate = c.sent / c.seconds;
  report(
    [
      ["readers", READERS],
      ["node flags: Herald", HERALD_FLAGS || "(none)"],
      ["segments", `${c.segments}${run.summary.parts ? ` (planned by ${run.summary.parts} part jobs)` : ""}`],
      ["MJML renders", h.renders],
      ["emails sent (accepted)", `${run.progress.sent} (server received ${received})`],
      ["plan + enqueue (s)", run.planSeconds.toFixed(2)],
      ["end to end (s)", run.seconds.toFixed(2)],
      ["emails/s end to end", rate.toFixed(0)],
      [`ceiling emails/s (pool, no queue, ${c.sent} msgs, ${concurrency} at once)`, ceilingRate.toFixed(0)],
      ["ratio to ceiling", (rate / ceilingRate).toFixed(2)],
      [
        "CPU ms per email: Herald / ceiling",
        `${(h.cpuMs / run.progress.sent).toFixed(3)} / ${(c.cpuMs / c.sent).toFixed(3)}`,
      ],
      ["Herald RSS at start-up (MB)", mb(h.startRss)],
      ["Herald peak RSS (MB)", mb(h.peakRss)],
      ["ceiling peak RSS (MB)", mb(c.peakRss)],
      ["Redis used_memory before / after (MB)", `${mb(before.used)} / ${mb(after.used)}`],
      [
        "  what the run left, by key family (KB)",
        grown(after.families, before.families, 1024, 64) || "(nothing over 64 KB)",
      ],
    ],
    {
      name: "digest-fanout",
      readers: READERS,
      segments: c.segments,
      mjmlRenders: h.renders,
      sent: run.progress.sent,
      received,
      seconds: round(run.seconds),
      emailsPerSecond: Math.round(rate),
      ceilingEmailsPerSecond: Math.round(ceilingRate),
      ratioToCeiling: round(rate / ceilingRate),
      cpuMsPerEmail: round(h.cpuMs / run.progress.sent, 3),
      ceilingCpuMsPerEmail: round(c.cpuMs / c.sent, 3),
      baseRssMb: mb(h.startRss),
      peakRssMb: mb(h.peakRss),
      redisBeforeMb: mb(before.used),
      redisAfterMb: mb(after.used),
    },
  );
} finally {
  await b.close();
}
// Node keeps the forked children's IPC handles: exit once the report is out.
process.exit(process.exitCode ?? 0);
