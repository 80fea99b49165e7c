// Digest scaling benchmark: one `digest run daily` through the queue with 1, 2 and 3 Herald
// worker processes (each: digest and email workers, as `herald start --workers-only`), on the
// same data set (51 segments), to the same SMTP sink (its own process). The run is split into
// planning parts (DIGEST_PART_SIZE readers each) that every worker plans and sends at once. Prints
// emails/s per worker count, and Redis memory per subscriber (used_memory after seeding the
// readers, minus before, over the readers) and per email sent (what the run left, over the
// emails), with the key families behind each (MEMORY USAGE). Its own throwaway redis-server,
// flushed between runs. Shared harness: bench/digest/harness.ts.
//   npx tsx bench/digest-scale.ts [readers=10000] [workers=1,2,3]
// On a machine with fewer free cores than processes (Herald's + the sink + Redis), the figures
// measure the machine, not Herald: the load average before each run is printed with it.
import { loadavg } from "node:os";
import { grown, redisMemory, report, runEdition, seedUniform, startBench, startHerald } from "./digest/harness.ts";

const READERS = Number(process.argv[2] ?? process.env.BENCH_READERS ?? 10_000);
const WORKERS = (process.argv[3] ?? "1,2,3").split(",").map(Number);
const PART_SIZE = Number(process.env.BENCH_PART_SIZE ?? 1000);
const HERALD_FLAGS = process.env.BENCH_HERALD_FLAGS ?? "--max-old-space-size=256";

const b = await startBench({ digestPartSize: PART_SIZE });
const rows: Record<string, number>[] = [];
try {
  const { rt } = b;
  for (const workers of WORKERS) {
    await rt.redis.flushall();
    let empty = await redisMemory(rt);
    await seedUniform(rt, READERS, async () => {
      empty = await redisMemory(rt);
    });
    const seeded = await redisMemory(rt);
    const procs = await Promise.all(Array.from({ length: workers }, () => startHerald(b, HERALD_FLAGS)));
    const load = loadavg()[0]!;
    const run = await runEdition(rt, "daily", Date.now());
    const stats = [];
    for (const p of procs) stats.push(await p.stop());
    const after = await redisMemory(rt);
    const sent = run.progress.sent;
    const row = {
      workers,
      readers: READERS,
      parts: run.summary.parts ?? 1,
      sent,
      seconds: Number(run.seconds.toFixed(2)),
      emailsPerSecond: Math.round(sent / run.seconds),
      renders: stats.reduce((n, s) => n + s.renders, 0),
      cpuMsPerEmail: Number((stats.reduce((n, s) => n + s.cpuMs, 0) / sent).toFixed(3)),
      peakRssMb: Math.max(...stats.map((s) => Math.round(s.peakRss / 1048576))),
      redisBytesPerSubscriber: Math.round((seeded.used - empty.used) / READERS),
      redisBytesPerEmail: Math.round((after.used - seeded.used) / sent),
      load1: Number(load.toFixed(1)),
    };
    rows.push(row);
    process.stdout.write(
      `${workers} worker process(es): ${row.sent} emails in ${row.seconds} s = ${row.emailsPerSecond} emails/s (${row.parts} parts, ${row.renders} MJML renders, ${row.cpuMsPerEmail} CPU ms/email, peak RSS ${row.peakRssMb} MB, load ${row.load1} before)\n` +
        `  Redis per subscriber: ${row.redisBytesPerSubscriber} B used_memory (${grown(seeded.families, empty.families, READERS)})\n` +
        `  Redis per email sent: ${row.redisBytesPerEmail} B used_memory (${grown(after.families, seeded.families, sent)})\n`,
    );
  }
  report(
    rows.map((r) => [
      `${r.workers} worker process(es): emails/s, CPU ms/email`,
      `${r.emailsPerSecond}, ${r.cpuMsPerEmail}`,
    ]),
    { name: "digest-scale", rows },
  );
} finally {
  await b.close();
}
process.exit(process.exitCode ?? 0);
