// A child process of the digest benchmarks (harness.ts), so that each measured side has a
// process of its own. Roles, given as argv[2]; argv[3] is a JSON file of arguments.
//   herald   Herald's digest and email workers, as `herald start --workers-only` runs them.
//            Answers "stats" with its CPU time and peak RSS so far (and, run with --expose-gc,
//            the live heap after a full collection), "stop" with the same and its MJML renders,
//            then exits. { redisUrl, config }
//   ceiling  The same messages with no queue and no Redis: the confirmed readers of a frequency,
//            their digests worked out from the cursors as they were before the run (the same
//            functions Herald plans with) and rendered once per segment, personalised in advance
//            (the spliced bodies Herald sends), then `count` of them, each segment's share, sent
//            straight through nodemailer's SMTP pool, `concurrency` at once. Only the sending is
//            timed. { redisUrl, config, frequency, at, cursorsFile, count, concurrency, zones, sampleFile? }
import { readFileSync, writeFileSync } from "node:fs";
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer";
import { listIdOf, testConfig } from "../../src/config/index.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { startWorkers } from "../../src/jobs/workers.ts";
import { digestItems } from "../../src/mail/digests.ts";
import { messageIdFor, senderDomain } from "../../src/mail/message.ts";
import { brandOf } from "../../src/mail/segments.ts";
import { closeMailer, SMTP_POOL_SIZE } from "../../src/mail/transport.ts";
import type { Release } from "../../src/releases/model.ts";
import { createRuntime } from "../../src/runtime.ts";
import { readerLinks } from "../../src/subscribers/links.ts";
import type { Language } from "../../src/i18n/languages.ts";
import type { DigestFrequency, Subscriber } from "../../src/subscribers/model.ts";
import { SubscriberStore } from "../../src/subscribers/store.ts";
import { renderDigest } from "../../src/templates/messages.ts";
import { personalMail } from "../../src/templates/personalise.ts";
import type { RenderedMessage } from "../../src/templates/render.ts";
import { templateStats } from "../../src/templates/stats.ts";

interface Args {
  redisUrl: string;
  config: Record<string, unknown>;
  frequency?: DigestFrequency;
  at?: number;
  cursorsFile?: string;
  count?: number;
  concurrency?: number;
  zones?: string[];
  sampleFile?: string;
}

const DAY = 86_400_000;
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
  // Where the peak RSS is: V8's heap (heapTotal) or memory outside it (Buffers: external), sampled
  // twice a second (reading it costs CPU, charged to Herald's figure).
  const peak = { heapTotal: 0, heapUsed: 0, external: 0 };
  setInterval(() => {
    const m = process.memoryUsage();
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
  }, 500).unref();
  const stats = () => {
    const peakRss = process.resourceUsage().maxRSS * 1024;
    // With --expose-gc: what is live after a full collection (how much of the peak was garbage not
    // yet collected). The CPU is read after that collection, so it is not charged to the next run.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const live = gc ? process.memoryUsage() : undefined;
    return {
      cpuMs: cpuMs() - cpu0,
      peakRss,
      startRss,
      renders: templateStats.mjmlRenders,
      peakHeapTotal: peak.heapTotal,
      peakHeapUsed: peak.heapUsed,
      peakExternal: peak.external,
      ...(live ? { heapMb: Math.round(live.heapUsed / 1048576), externalMb: Math.round(live.external / 1048576) } : {}),
    };
  };
  process.on("message", async (m) => {
    if (m === "stats") return send(stats());
    await workers.close();
    closeMailer(rt);
    await rt.close();
    await send(stats());
    process.exit(0);
  });
  await send({ ready: true });
}

async function ceiling(): Promise<void> {
  const rt = await createRuntime({ config, redisUrl: args.redisUrl });
  const frequency = args.frequency!;
  const at = args.at!;
  const cursors = JSON.parse(readFileSync(args.cursorsFile!, "utf8")) as Record<string, string>;
  const candidates = await rt.releases.publishedBetween("all", at - 35 * DAY, at, 1000);
  const store = new SubscriberStore(rt.redis, config.prefix);
  // Readers with the same language and the same items form a segment, as in Herald's planning.
  const groups = new Map<string, { language: Language; items: Release[]; readers: number }>();
  for await (const ids of store.confirmedIds(frequency)) {
    const subs = (await store.getMany(ids)).filter((s): s is Subscriber => s?.status === "confirmed");
    for (const s of subs) {
      const from = cursors[s.id] ? Number(cursors[s.id]) : at - (frequency === "daily" ? DAY : 7 * DAY);
      const items = digestItems(s, candidates, from);
      if (items.length === 0) continue;
      const key = `${s.language}|${items.map((r) => `${r.id}@${r.revision}`).join(",")}`;
      const g = groups.get(key) ?? { language: s.language, items, readers: 0 };
      g.readers += 1;
      groups.set(key, g);
    }
  }
  const brand = brandOf(config, await rt.taxonomy.current());
  await rt.close();
  const segments: { language: Language; message: RenderedMessage; readers: number; items: number }[] = [];
  for (const g of groups.values())
    segments.push({
      language: g.language,
      message: await renderDigest(brand, g.language, frequency, g.items),
      readers: g.readers,
      items: g.items.length,
    });
  const total = segments.reduce((n, x) => n + x.readers, 0);
  const count = args.count!;
  const domain = senderDomain(config.mailFrom);
  const zones = args.zones ?? ["UTC"];
  const messages: Mail.Options[] = [];
  let j = 0;
  for (const { language, message, readers } of segments) {
    const n = Math.max(1, Math.round((readers / total) * count));
    for (let k = 0; k < n; k++, j++) {
      const id = `s${String(j).padStart(20, "0")}`;
      const links = readerLinks(config.publicUrl, config.secretKey!, id);
      const reader = {
        name: `Reader ${j}`,
        language,
        timezone: zones[j % zones.length]!,
        unsubscribeUrl: links.unsubscribe,
        preferencesUrl: links.preferences,
      };
      messages.push(
        personalMail(
          message,
          reader,
          {
            from: config.mailFrom,
            to: { name: reader.name, address: `ceiling${j}@bench.example` },
            messageId: messageIdFor("ceiling", id, domain),
            language,
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
  const items = segments.map((s) => s.items).sort((a, b) => a - b);
  await send({
    sent: messages.length,
    seconds,
    cpuMs: cpuMs() - cpu0,
    peakRss: process.resourceUsage().maxRSS * 1024,
    medianBytes: median,
    meanBytes: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length),
    segments: segments.length,
    items: [items[0] ?? 0, items[Math.floor(items.length / 2)] ?? 0, items[items.length - 1] ?? 0],
  });
  process.exit(0);
}

if (role === "herald") await herald();
else if (role === "ceiling") await ceiling();
else throw new Error(`unknown role ${role}: herald or ceiling`);
