// Two runs of one email batch at once (what BullMQ does when a starved worker loses its lock
// and another takes the job over), and a run that died holding leases: each reader gets the
// edition once, a run defers what another holds without counting it, and a dead run's leases
// let the retry send once they expire.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAlert } from "../../src/mail/alerts.ts";
import { type EmailBatchJob, QUEUE } from "../../src/jobs/queues.ts";
import { sendBatch } from "../../src/mail/send-emails.ts";
import { Ledger } from "../../src/mail/ledger.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { addReader, type MailEnv, mailEnv } from "../helpers/mail.ts";
import { sampleRelease } from "../helpers/releases.ts";

const READERS = 40;
let env: MailEnv;
beforeEach(async () => {
  env = await mailEnv({ label: "leases", config: { sendLeaseMs: 1500 } });
});
afterEach(() => env.stop());

async function oneBatch(): Promise<{ job: EmailBatchJob; emails: string[] }> {
  const emails = Array.from({ length: READERS }, (_, i) => `r${i}@leases.example`);
  for (const email of emails) await addReader(env.rt, { email, frequency: "immediate" });
  await new ReleaseService(env.rt).publish(sampleRelease({ id: "leased" }));
  await runAlert(env.rt, { releaseId: "leased", revision: 1, event: "published" });
  const jobs = await env.rt.queues[QUEUE.emails].getJobs(["waiting", "delayed", "prioritized"]);
  expect(jobs).toHaveLength(1);
  return { job: jobs[0]!.data as EmailBatchJob, emails };
}

describe("send leases", { timeout: 120_000 }, () => {
  it("two runs of the same batch at once: every reader once, the other run's readers deferred and not counted", async () => {
    const { job, emails } = await oneBatch();
    const [a, b] = await Promise.all([sendBatch(env.rt, job), sendBatch(env.rt, job)]);
    expect(a.sent + b.sent).toBe(READERS);
    expect(a.failed + b.failed + a.skipped + b.skipped).toBe(0);
    // Whatever one run sent, the other deferred or found done: never both sent.
    expect(a.deferred + b.deferred).toBeLessThanOrEqual(READERS);
    for (const e of emails) expect({ e, n: env.smtp.to(e).length }).toEqual({ e, n: 1 });
    expect(await new Ledger(env.rt.redis, env.rt.config.prefix).progress(job.edition)).toMatchObject({
      sent: READERS,
      failed: 0,
    });
    // Sent readers' leases went with the ledger write, the rest were given back.
    expect(await env.rt.redis.exists(env.rt.key("lease", job.edition))).toBe(0);
  });

  it("a run that died holding leases: the retry defers those readers until the leases expire, then sends them once", async () => {
    const { job, emails } = await oneBatch();
    const ledger = new Ledger(env.rt.redis, env.rt.config.prefix);
    // The dead run leased the first ten readers and sent nothing.
    const held = job.subscriberIds.slice(0, 10);
    expect((await ledger.lease(job.edition, "dead-run", 1500, held)).states).toEqual(held.map(() => "mine"));
    const first = await sendBatch(env.rt, job);
    expect(first).toMatchObject({ sent: READERS - 10, deferred: 10, skipped: 0, failed: 0 });
    expect(first.deferMs).toBeGreaterThan(0);
    expect(first.deferMs).toBeLessThanOrEqual(1500);
    await new Promise((r) => setTimeout(r, 1600)); // the dead run's 1.5 s leases expire on purpose
    expect(await sendBatch(env.rt, job)).toMatchObject({ sent: 10, deferred: 0 });
    for (const e of emails) expect({ e, n: env.smtp.to(e).length }).toEqual({ e, n: 1 });
  });

  it("a lease is its run's: another token neither takes nor gives it back, the ledger ends it", async () => {
    const ledger = new Ledger(env.rt.redis, env.rt.config.prefix);
    expect((await ledger.lease("ed", "a", 10_000, ["x", "y"])).states).toEqual(["mine", "mine"]);
    const other = await ledger.lease("ed", "b", 10_000, ["x", "y", "z"]);
    expect(other.states).toEqual(["busy", "busy", "mine"]);
    expect(other.busyMs).toBeGreaterThan(9_000);
    await ledger.releaseLeases("ed", "b", ["x", "y", "z"]);
    expect((await ledger.lease("ed", "a", 10_000, ["x", "y", "z"])).states).toEqual(["mine", "mine", "mine"]);
    await ledger.record("ed", [{ subscriberId: "x" }]);
    expect((await ledger.lease("ed", "b", 10_000, ["x", "y"])).states).toEqual(["done", "busy"]);
  });

  it("an alert's ledger is a bitmap by reader number: a recorded reader is done for every later run", async () => {
    const ledger = new Ledger(env.rt.redis, env.rt.config.prefix);
    const edition = "alert-bits-r1";
    expect((await ledger.lease(edition, "a", 10_000, ["x", "y"])).states).toEqual(["mine", "mine"]);
    // Run a sends x and records it: the ledger write ends x's lease in the same step.
    await ledger.record(edition, [{ subscriberId: "x" }]);
    expect(await env.rt.redis.exists(env.rt.key("ledger", edition))).toBe(0); // no set: the bitmap
    expect(await env.rt.redis.exists(env.rt.key("ledger-bits", edition))).toBe(1);
    expect(await env.rt.redis.hexists(env.rt.key("lease", edition), "x")).toBe(0);
    // Run b (the job taken over) finds x done, not free, and y still a's.
    expect((await ledger.lease(edition, "b", 10_000, ["x", "y"])).states).toEqual(["done", "busy"]);
  });
});
