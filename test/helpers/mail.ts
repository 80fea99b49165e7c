// A runtime wired to a real SMTP server, with workers for the mail path, and reader helpers.
import { fixedClock } from "../../src/clock.ts";
import type { Config } from "../../src/config/index.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { QUEUE, type QueueName } from "../../src/jobs/queues.ts";
import { closeMailer } from "../../src/mail/transport.ts";
import type { SubscriberInput, Subscriber } from "../../src/subscribers/model.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { drained } from "./drain.ts";
import { type TestRuntime, testRuntime } from "./runtime.ts";
import { startSmtp, type TestSmtp } from "./smtp.ts";

export const TEST_SECRET = "test-secret-key-0123456789abcdef0123456789";

export interface MailEnv {
  rt: TestRuntime;
  smtp: TestSmtp;
  clock: ReturnType<typeof fixedClock>;
  workers: Workers | null;
  start(queues?: QueueName[]): void;
  /** Waits until the queues this env runs workers for hold no work: nothing more will be sent. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

export async function mailEnv(opts: { now?: string; config?: Partial<Config>; label?: string } = {}): Promise<MailEnv> {
  const smtp = await startSmtp();
  const clock = fixedClock(opts.now ?? "2026-11-28T10:00:00Z");
  const rt = await testRuntime({
    clock,
    label: opts.label ?? "mail",
    // Alerts go out at once unless a test sets ALERT_TRANSLATION_WAIT (alerts-translation-wait.test.ts).
    config: {
      smtpUrl: smtp.url,
      secretKey: TEST_SECRET,
      emailRatePerSecond: 1000,
      publicUrl: "https://news.example.org",
      mailFrom: "IOM News <news@iom.example>",
      alertTranslationWaitMs: 0,
      ...opts.config,
    },
  });
  let served: QueueName[] = [];
  const env: MailEnv = {
    rt,
    smtp,
    clock,
    workers: null,
    start(queues = [QUEUE.releaseEvents, QUEUE.alerts, QUEUE.emails, QUEUE.digests]) {
      if (env.workers) throw new Error("mailEnv: workers already started (stop() closes them)");
      served = queues;
      env.workers = startWorkers(rt, queues);
    },
    drained: () => drained(rt, { queues: served }),
    async stop() {
      await env.workers?.close();
      closeMailer(rt);
      await rt.destroy();
      await smtp.close();
    },
  };
  return env;
}

export async function addReader(rt: TestRuntime, input: SubscriberInput, confirmed = true): Promise<Subscriber> {
  return (await new SubscriberService(rt).upsert(input, { confirmed })).subscriber;
}
