// A child process of bench/digest-fanout.ts, so that each measured side has a process of its own
// and the peak RSS is the peak of that process only (not of the benchmark that seeds 100,000
// readers). Roles, given as argv[2]:
//   herald   Herald's digest and email workers, as `herald start --workers-only` runs them. Runs
//            until told "stop", then answers its peak RSS, CPU time and MJML renders.
//   ceiling  nodemailer's pool sending the same pre-rendered, personalised messages to the same
//            server with no queue and no Redis work, at the same concurrency as the workers.
// argv[3] is JSON: { redisUrl, config (testConfig overrides), and for the ceiling edition,
// segments, count, concurrency }. Messages to the parent are JSON over IPC.
import nodemailer from "nodemailer";
import { type Config, testConfig } from "../src/config/index.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { startWorkers } from "../src/jobs/workers.ts";
import { buildMail, messageIdFor, senderDomain } from "../src/mail/message.ts";
import { loadSegment, type Segment } from "../src/mail/segments.ts";
import { closeMailer, SMTP_POOL_SIZE } from "../src/mail/transport.ts";
import { createRuntime } from "../src/runtime.ts";
import { readerLinks } from "../src/subscribers/links.ts";
import { personalise } from "../src/templates/personalise.ts";
import { templateStats } from "../src/templates/stats.ts";

interface Args {
  redisUrl: string;
  config: Partial<Config>;
  edition?: string;
  segments?: string[];
  count?: number;
  concurrency?: number;
}

const role = process.argv[2];
const args = JSON.parse(process.argv[3] ?? "{}") as Args;
const config = testConfig(args.config);
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const send = (m: object) => new Promise<void>((r) => process.send!(m, () => r()));

async function herald(): Promise<void> {
  const rt = await createRuntime({ config, redisUrl: args.redisUrl });
  const workers = startWorkers(rt, [QUEUE.digests, QUEUE.emails]);
  const startRss = process.memoryUsage().rss;
  const cpu0 = cpuMs();
  process.once("message", async () => {
    await workers.close();
    closeMailer(rt);
    await rt.close();
    await send({
      startRss,
      peakRss: process.resourceUsage().maxRSS * 1024,
      cpuMs: cpuMs() - cpu0,
      renders: templateStats.mjmlRenders,
    });
    process.exit(0);
  });
  await send({ ready: true });
}

async function ceiling(): Promise<void> {
  const rt = await createRuntime({ config, redisUrl: args.redisUrl });
  const segments: Segment[] = [];
  for (const segment of args.segments!) {
    segments.push((await loadSegment(rt, { edition: args.edition!, kind: "digest", segment, subscriberIds: [] }))!);
  }
  await rt.close();
  const secret = config.secretKey!;
  const domain = senderDomain(config.mailFrom);
  const pool = nodemailer.createTransport({
    url: config.smtpUrl,
    pool: true,
    maxConnections: SMTP_POOL_SIZE,
    maxMessages: 10_000,
  });
  const count = args.count!;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: args.concurrency! }, async () => {
      while (next < count) {
        const j = next++;
        const seg = segments[j % segments.length]!;
        const id = `c${j}`;
        const links = readerLinks(config.publicUrl, secret, id);
        const body = personalise(seg.message, {
          name: `Reader ${j}`,
          language: seg.language,
          timezone: "UTC",
          unsubscribeUrl: links.unsubscribe,
          preferencesUrl: links.preferences,
        });
        const to = { name: `Reader ${j}`, address: `ceiling${j}@bench.example` };
        await pool.sendMail(
          buildMail(
            {
              from: config.mailFrom,
              to,
              ...body,
              messageId: messageIdFor("ceiling", id, domain),
              language: seg.language,
              unsubscribeUrl: links.unsubscribe,
            },
            Date.now(),
          ),
        );
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  pool.close();
  await send({ seconds, cpuMs: cpuMs() - cpu0, peakRss: process.resourceUsage().maxRSS * 1024 });
  process.exit(0);
}

if (role === "herald") await herald();
else if (role === "ceiling") await ceiling();
else throw new Error(`unknown role ${role}: herald or ceiling`);
