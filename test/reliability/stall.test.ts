// A worker stalled past its job locks while it is sending, and a second worker that takes its
// jobs over: the stall reproduced directly. Worker A (a real `herald start --workers-only`
// process) is frozen with SIGSTOP in the middle of its sends (it gets no CPU at all, as an
// event loop starved for seconds), worker B's stalled-job check hands A's jobs to B, then A is
// let go (SIGCONT) and finishes what it was doing. Both runs of each job were live; with the
// send leases nothing reaches a reader or a partner twice, and nothing is lost.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Job, Queue } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { webhookId } from "../../src/partners/envelope.ts";
import { addPartner } from "../../src/partners/service.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { reportFigures } from "./cpu-hog.ts";
import { queueDigestRun, seedDigest } from "./digest-setup.ts";
import { type CrashReceiver, startCrashReceiver } from "./receiver.ts";
import { type SmtpSink, startSmtpSink } from "./smtp-sink.ts";
import { startWorkerProcess, type WorkerProcess } from "./worker-process.ts";

const SECRET = "stall-secret-key-0123456789abcdef0123456789";
/** Short locks so a freeze of a few seconds loses them; leases far longer than the freeze. */
const TIMING = { WORKER_LOCK_MS: "2000", WORKER_STALLED_INTERVAL_MS: "2000", SEND_LEASE_MS: "60000" };

let rt: TestRuntime | undefined;
let smtp: SmtpSink | undefined;
let rx: CrashReceiver | undefined;
const workers: WorkerProcess[] = [];
let varDir: string | undefined;

afterEach(async () => {
  for (const w of workers.splice(0)) {
    w.resume();
    await w.kill();
  }
  await smtp?.close();
  await rx?.close();
  await rt?.destroy();
  if (varDir) rmSync(varDir, { recursive: true, force: true });
  rt = smtp = rx = varDir = undefined;
});

async function worker(env: Record<string, string>): Promise<WorkerProcess> {
  const w = await startWorkerProcess(env);
  workers.push(w);
  return w;
}

/** Jobs of a queue that the stalled-job check took from a worker, with their state now. */
async function takenOver(queue: Queue, name: string): Promise<{ id: string; state: string }[]> {
  const jobs = (await queue.getJobs(["active", "waiting", "delayed", "prioritized", "completed"])) as Job[];
  const out: { id: string; state: string }[] = [];
  for (const j of jobs)
    if (j?.name === name && j.stalledCounter > 0) out.push({ id: j.id!, state: await j.getState() });
  return out;
}

const nonEmpty = <T>(xs: T[]): T[] | null => (xs.length > 0 ? xs : null);

describe("a worker stalled past its locks while sending", { timeout: 240_000 }, () => {
  it("email: the run that takes the batch over defers the stalled run's readers; each reader gets the digest once", async () => {
    smtp = await startSmtpSink();
    rt = await testRuntime({ label: "stallm", config: { smtpUrl: smtp.url, secretKey: SECRET } });
    varDir = mkdtempSync(path.join(tmpdir(), "herald-stall-"));
    const { emails } = await seedDigest(rt, 600);
    const env = {
      REDIS_URL: rt.redisUrl,
      HERALD_PREFIX: rt.config.prefix,
      VAR_DIR: varDir,
      SMTP_URL: smtp.url,
      SECRET_KEY: SECRET,
      EMAIL_RATE_PER_SECOND: "100000",
      PUBLIC_URL: "https://news.example.org",
      MAIL_FROM: "IOM News <news@iom.example>",
      ...TIMING,
    };
    // A sends; the server keeps its 250s, so A is in the middle of its batches.
    smtp.mode = "hold";
    const a = await worker(env);
    await queueDigestRun(rt);
    await eventually(() => smtp!.held() >= 8, 60_000, "A's messages held by the server");
    const b = await worker(env);
    // Freeze A; the server answers everything it holds (A reads those answers once it runs again).
    a.pause();
    const frozenAt = Date.now();
    smtp.mode = "ok";
    smtp.releaseHeld();
    // B's stalled-job check hands it A's batches; B runs them (finding their readers leased, it
    // defers them to "delayed"; without leases it would send them and complete).
    const emailsQ = rt.queues[QUEUE.emails];
    const deferred = await eventually(
      async () =>
        nonEmpty((await takenOver(emailsQ, "send")).filter((j) => j.state === "delayed" || j.state === "completed")),
      60_000,
      "a batch taken over from A and run by B",
    );
    const frozenMs = Date.now() - frozenAt;
    a.resume();

    await eventually(() => emails.every((e) => smtp!.count(e) > 0), 90_000, "every reader to get the digest").catch(
      () => false,
    );
    await eventually(
      async () => {
        const c = await emailsQ.getJobCounts("waiting", "active", "delayed", "prioritized");
        return Object.values(c).every((n) => n === 0);
      },
      60_000,
      "the emails queue to drain",
    );
    const taken = await takenOver(emailsQ, "send");
    const lost = emails.filter((e) => smtp!.count(e) === 0).length;
    const duplicates = emails.reduce((n, e) => n + Math.max(0, smtp!.count(e) - 1), 0);
    reportFigures({
      suite: "stall-email",
      hog: 0,
      duplicates,
      allowed: 0,
      lost,
      frozenMs,
      batchesTakenOver: taken.length,
      takenOverAndRunWhileFrozen: deferred.length,
    });
    expect(b.output()).toMatch(/workers running for/);
    expect(taken.length).toBeGreaterThan(0);
    expect({ duplicates, lost }).toEqual({ duplicates: 0, lost: 0 });
    expect(await emailsQ.getFailedCount()).toBe(0);
  });

  it("partners: the run that takes a delivery over waits for the stalled run's request; each event arrives once", async () => {
    rx = await startCrashReceiver();
    rt = await testRuntime({ label: "stallp" });
    varDir = mkdtempSync(path.join(tmpdir(), "herald-stall-"));
    const partner = (await addPartner(rt, { name: "Stall partner", url: rx.url("/p"), allowPrivate: true })).partner;
    const env = {
      REDIS_URL: rt.redisUrl,
      HERALD_PREFIX: rt.config.prefix,
      VAR_DIR: varDir,
      PARTNER_RETRY_SCHEDULE: "0,0.2,0.5,1,1,1,1,1,1,1",
      PARTNER_TIMEOUT_MS: "60000",
      ...TIMING,
    };
    rx.mode = "hold";
    const a = await worker(env);
    const svc = new ReleaseService(rt);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++)
      ids.push((await svc.publish(sampleRelease({ id: `stall-${i}`, publishedAt: undefined }))).id);
    await eventually(() => rx!.open() >= 4, 60_000, "A's requests held open by the partner");
    const b = await worker(env);
    a.pause();
    const frozenAt = Date.now();
    rx.mode = "ok";
    rx.releaseHeld(); // answered 200; A reads the answers once it runs again
    const partnersQ = rt.queues[QUEUE.partners];
    const deferred = await eventually(
      async () =>
        nonEmpty(
          (await takenOver(partnersQ, "deliver")).filter((j) => j.state === "delayed" || j.state === "completed"),
        ),
      60_000,
      "a delivery taken over from A and run by B",
    );
    const frozenMs = Date.now() - frozenAt;
    a.resume();

    const expected = ids.map((id) => `/p ${webhookId({ releaseId: id, revision: 1, event: "published" })}`);
    await eventually(() => expected.every((k) => rx!.delivered.has(k)), 90_000, "every event delivered").catch(
      () => false,
    );
    await eventually(
      async () => {
        const c = await partnersQ.getJobCounts("waiting", "active", "delayed", "prioritized");
        return Object.values(c).every((n) => n === 0);
      },
      60_000,
      "the partners queue to drain",
    );
    const seen = new Map<string, number>();
    for (const s of rx.seen) seen.set(`${s.path} ${s.webhookId}`, (seen.get(`${s.path} ${s.webhookId}`) ?? 0) + 1);
    const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
    const lost = expected.filter((k) => !rx!.delivered.has(k)).length;
    const taken = await takenOver(partnersQ, "deliver");
    reportFigures({
      suite: "stall-partner",
      hog: 0,
      duplicates,
      allowed: 0,
      lost,
      frozenMs,
      deliveriesTakenOver: taken.length,
      takenOverAndRunWhileFrozen: deferred.length,
    });
    expect(b.output()).toMatch(/workers running for/);
    expect(taken.length).toBeGreaterThan(0);
    expect({ duplicates, lost }).toEqual({ duplicates: 0, lost: 0 });
    const failed = await partnersQ.getFailed(0, -1);
    expect(failed.map((j) => `${j.name} ${j.id}: ${j.failedReason}`)).toEqual([]);
    expect(await rt.redis.zcard(rt.key("partners", "p", partner.id, "delivered"))).toBe(ids.length);
  });
});
