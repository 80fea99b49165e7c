// The SMTP server answers 421 for a while, then is gone (connection refused), then recovers:
// every reader gets the digest exactly once (a refused message was never accepted, so it is
// sent again; an accepted one is in the ledger and never sent again).
import { afterEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { closeMailer } from "../../src/mail/transport.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { queueDigestRun, seedDigest } from "./digest-setup.ts";
import { type SmtpSink, startSmtpSink } from "./smtp-sink.ts";

const READERS = 300;

let rt: TestRuntime | undefined;
let smtp: SmtpSink | undefined;
let workers: Workers | undefined;

afterEach(async () => {
  await workers?.close(true);
  if (rt) closeMailer(rt);
  await smtp?.close();
  await rt?.destroy();
  rt = smtp = workers = undefined;
});

describe("SMTP outage", { timeout: 90_000 }, () => {
  it("421s, then connection refused, then back: every reader gets the digest exactly once", async () => {
    smtp = await startSmtpSink();
    smtp.mode = "refuse";
    rt = await testRuntime({
      label: "smtpout",
      config: {
        smtpUrl: smtp.url,
        secretKey: "outage-secret-key-0123456789abcdef0123456789",
        emailRatePerSecond: 100_000,
      },
    });
    const { emails } = await seedDigest(rt, READERS);
    workers = startWorkers(rt, [QUEUE.digests, QUEUE.emails]);
    await queueDigestRun(rt);

    // 421 until every batch has been refused at least once and is waiting to retry.
    await eventually(
      async () => smtp!.refused >= READERS && (await rt!.queues[QUEUE.emails].getDelayedCount()) > 0,
      30_000,
      "421 answers",
    );
    const failedAttempts = async () =>
      (await rt!.queues[QUEUE.emails].getDelayed(0, -1)).reduce((n, j) => n + j.attemptsMade, 0);
    const before = await failedAttempts();
    // Then nothing listens: the next attempts find the connection refused.
    await smtp.down();
    await eventually(async () => (await failedAttempts()) > before, 30_000, "attempts refused at the connection");
    smtp.mode = "ok";
    await smtp.up();

    await eventually(
      () => emails.every((e) => smtp!.count(e) > 0),
      60_000,
      `every one of ${READERS} readers to get the digest`,
    );
    await eventually(
      async () => {
        const c = await rt!.queues[QUEUE.emails].getJobCounts("waiting", "active", "delayed", "prioritized");
        return Object.values(c).every((n) => n === 0);
      },
      30_000,
      "the emails queue to drain",
    );
    expect(emails.filter((e) => smtp!.count(e) !== 1)).toEqual([]);
    expect(smtp.messages).toHaveLength(READERS);
    expect(await rt.queues[QUEUE.emails].getFailedCount()).toBe(0);
  });
});
