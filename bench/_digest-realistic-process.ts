// A child process of bench/digest-realistic.ts, so that each measured side has a process of its
// own. Roles, given as argv[2]:
//   herald  Herald's digest and email workers, as `herald start --workers-only` runs them, with
//           no heap flags. Answers "cpu" with its CPU time so far, and "stop" with its peak RSS,
//           CPU time and MJML renders, then exits.
//   pool    The ceiling: the same messages, rendered by Herald's run (segments read from Redis)
//           and personalised in advance, sent straight through nodemailer's SMTP pool to the
//           same server, no queue and no Redis, at the workers' concurrency. Only the sending is
//           timed. Also writes one message of the median size to `sampleFile` (for smtp-source).
// argv[3] is a JSON file: { redisUrl, config (testConfig overrides), and for the pool edition,
// segments [{ segment, readers }], count, concurrency, zones, sampleFile }.
import { readFileSync, writeFileSync } from "node:fs";
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer";
import { listIdOf, testConfig } from "../src/config/index.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { startWorkers } from "../src/jobs/workers.ts";
import { messageIdFor, senderDomain } from "../src/mail/message.ts";
import { loadSegment, type Segment } from "../src/mail/segments.ts";
import { closeMailer, SMTP_POOL_SIZE } from "../src/mail/transport.ts";
import { createRuntime } from "../src/runtime.ts";
import { readerLinks } from "../src/subscribers/links.ts";
import { personalMail } from "../src/templates/personalise.ts";
import { templateStats } from "../src/templates/stats.ts";

interface Args {
  redisUrl: string;
  config: Record<string, unknown>;
  edition?: string;
  segments?: { segment: string; readers: number }[];
  count?: number;
  concurrency?: number;
  zones?: string[];
  sampleFile?: string;
}

const role = process.argv[2];
const args = JSON.parse(readFileSync(process.argv[3]!, "utf8")) as Args;
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
  process.on("message", async (m) => {
    if (m === "cpu") {
      const gc = (globalThis as { gc?: () => void }).gc;
      const peakRss = process.resourceUsage().maxRSS * 1024;
      // With --expose-gc: what is live after a full collection (how much of the peak is garbage not
      // yet collected). The CPU is read after that collection, so it is not charged to the next run.
      gc?.();
      const live = gc ? process.memoryUsage() : undefined;
      const cpu = cpuMs() - cpu0;
      await send({
        cpuMs: cpu,
        peakRss,
        ...(live
          ? { heapMb: Math.round(live.heapUsed / 1048576), externalMb: Math.round(live.external / 1048576) }
          : {}),
      });
      return;
    }
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

async function pool(): Promise<void> {
  const rt = await createRuntime({ config, redisUrl: args.redisUrl });
  const segments: { s: Segment; readers: number }[] = [];
  for (const { segment, readers } of args.segments!) {
    const s = await loadSegment(rt, { edition: args.edition!, kind: "digest", segment, subscriberIds: [] });
    if (s) segments.push({ s, readers });
  }
  await rt.close();
  // The run's mix: each segment's share of the messages is its share of the readers.
  const total = segments.reduce((n, x) => n + x.readers, 0);
  const count = args.count!;
  const domain = senderDomain(config.mailFrom);
  const zones = args.zones ?? ["UTC"];
  const messages: Mail.Options[] = [];
  let j = 0;
  for (const { s, readers } of segments) {
    const n = Math.max(1, Math.round((readers / total) * count));
    for (let k = 0; k < n; k++, j++) {
      const id = `s${String(j).padStart(20, "0")}`;
      const links = readerLinks(config.publicUrl, config.secretKey!, id);
      const reader = {
        name: `Reader ${j}`,
        language: s.language,
        timezone: zones[j % zones.length]!,
        unsubscribeUrl: links.unsubscribe,
        preferencesUrl: links.preferences,
      };
      messages.push(
        personalMail(
          s.message,
          reader,
          {
            from: config.mailFrom,
            to: { name: reader.name, address: `ceiling${j}@bench.example` },
            messageId: messageIdFor("ceiling", id, domain),
            language: s.language,
            unsubscribeUrl: links.unsubscribe,
            listId: listIdOf(config),
          },
          Date.now(),
        ),
      );
    }
  }
  const sizes = messages.map((m) => (m.raw as Buffer).length).sort((a, b) => a - b);
  const median = sizes[Math.floor(sizes.length / 2)]!;
  if (args.sampleFile)
    writeFileSync(args.sampleFile, messages.find((m) => (m.raw as Buffer).length === median)!.raw as Buffer);
  const transport = nodemailer.createTransport({
    url: config.smtpUrl,
    pool: true,
    maxConnections: SMTP_POOL_SIZE,
    maxMessages: 10_000,
  });
  const cpu0 = cpuMs();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: args.concurrency! }, async () => {
      while (next < messages.length) await transport.sendMail(messages[next++]!);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  transport.close();
  await send({
    sent: messages.length,
    seconds,
    cpuMs: cpuMs() - cpu0,
    peakRss: process.resourceUsage().maxRSS * 1024,
    medianBytes: median,
    meanBytes: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length),
  });
  process.exit(0);
}

if (role === "herald") await herald();
else if (role === "pool") await pool();
else throw new Error(`unknown role ${role}: herald or pool`);
