// Redis bytes per thing Herald stores, measured (MEMORY USAGE of every key, grouped by family),
// with each family's lifetime (the longest TTL seen; "kept" = no TTL). The figures behind the
// memory table in docs/architecture.md and the README's sizing section.
//   1. per release: 20 releases published, then one of them updated 10 times (revisions kept);
//   2. per subscriber: S immediate readers;
//   3. per alert email and per webhook: the 20 releases alerted to every reader through the real
//      workers and an SMTP sink (its own process), and delivered to 3 partners (a receiver process).
// Uses its own throwaway redis-server.   npx tsx bench/memory-usage.ts [subscribers=2000]
import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { testConfig } from "../src/config/index.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { startWorkers } from "../src/jobs/workers.ts";
import { closeMailer } from "../src/mail/transport.ts";
import { generateSecret } from "../src/partners/model.ts";
import { addPartner } from "../src/partners/service.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import { ReleaseService } from "../src/releases/service.ts";
import { createRuntime, type Runtime } from "../src/runtime.ts";
import type { Subscriber } from "../src/subscribers/model.ts";
import { SubscriberStore, subscriberId } from "../src/subscribers/store.ts";

const SUBSCRIBERS = Number(process.argv[2] ?? 2000);
const RELEASES = 20;
const PARTNERS = 3;
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Families = Map<string, { bytes: number; keys: number; maxTtl: number }>;

/** bench:sub:x -> sub; bench:q:emails:1 -> q:emails; bench:partners:p:a:log -> partners:log. */
function familyOf(key: string): string {
  const parts = key.split(":").slice(1);
  if (parts[0] === "q") return parts.slice(0, 2).join(":");
  if (parts[0] === "partners") return parts[1] === "p" ? `partners:${parts[3] ?? "config"}` : `partners:${parts[1]}`;
  if (parts[0] === "release" && parts.length > 2) return `release:${parts[2]}`;
  if (parts[0] === "subs") return "subs (indexes)";
  return parts[0]!;
}

async function families(rt: Runtime): Promise<Families> {
  const out: Families = new Map();
  let cursor = "0";
  do {
    const [c, keys] = await rt.redis.scan(cursor, "COUNT", 1000);
    cursor = c;
    const pipe = rt.redis.pipeline();
    for (const k of keys) pipe.memory("USAGE", k, "SAMPLES", "0").ttl(k);
    const res = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const f = out.get(familyOf(k)) ?? { bytes: 0, keys: 0, maxTtl: -2 };
      f.bytes += Number(res[2 * i]?.[1] ?? 0);
      f.keys += 1;
      const ttl = Number(res[2 * i + 1]?.[1] ?? -1);
      f.maxTtl = f.maxTtl === -1 || ttl === -1 ? -1 : Math.max(f.maxTtl, ttl);
      out.set(familyOf(k), f);
    });
  } while (cursor !== "0");
  return out;
}

function lifetime(ttl: number): string {
  if (ttl === -1) return "kept";
  if (ttl >= 86_400) return `${(ttl / 86_400).toFixed(1)} d`;
  return `${(ttl / 3600).toFixed(1)} h`;
}

function report(title: string, after: Families, before: Families, per: number, only?: (f: string) => boolean): number {
  const rows = [...after.entries()]
    .filter(([f]) => !only || only(f))
    .map(([f, v]) => ({ f, bytes: (v.bytes - (before.get(f)?.bytes ?? 0)) / per, ttl: v.maxTtl }))
    .filter((r) => Math.abs(r.bytes) >= 0.5)
    .sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((n, r) => n + r.bytes, 0);
  process.stdout.write(`${title}: ${total.toFixed(0)} B\n`);
  for (const r of rows)
    process.stdout.write(`  ${r.f.padEnd(24)} ${r.bytes.toFixed(1).padStart(9)} B   ${lifetime(r.ttl)}\n`);
  return total;
}

async function startReceiver(
  secrets: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; count(): Promise<number> }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "webhook-receiver.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve) =>
    lines.on("line", (l) => l.startsWith("PORT ") && resolve(Number(l.slice(5)))),
  );
  child.stdin!.write(`${JSON.stringify(secrets)}\n`);
  await new Promise<void>((resolve) => lines.on("line", (l) => l === "READY" && resolve()));
  return {
    child,
    port,
    count: async () => ((await (await fetch(`http://127.0.0.1:${port}/count`)).json()) as { count: number }).count,
  };
}

async function startSink() {
  const child = fork(path.join(here, "smtp-sink.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.on(
      "data",
      (d: Buffer) => /PORT (\d+)/.test(String(d)) && resolve(Number(/PORT (\d+)/.exec(String(d))![1])),
    ),
  );
  const count = () =>
    new Promise<number>((resolve) => {
      child.once("message", (m) => resolve((m as { count: number }).count));
      child.send("count");
    });
  return { port, count, stop: () => child.send("stop") };
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-redis-"));
  const redisServer = await startRedisServer({ dir, port: await freePort(), appendonly: false });
  const sink = await startSink();
  const config = testConfig({
    prefix: "bench",
    smtpUrl: `smtp://127.0.0.1:${sink.port}`,
    secretKey: "bench-secret-key-0123456789abcdef0123456789",
    emailRatePerSecond: 100_000,
    publicUrl: "https://news.example.org",
    mailFrom: "News <news@bench.example>",
    alertTranslationWaitMs: 0,
  });
  const rt = await createRuntime({ config, redisUrl: redisServer.url });
  const secrets: Record<string, string> = {};
  for (let i = 0; i < PARTNERS; i++) secrets[`ok${i}`] = generateSecret();
  const rx = await startReceiver(secrets);
  try {
    const svc = new ReleaseService(rt);
    const body = `<p>${"IOM this week trained forty border officials in identifying and referring victims of trafficking. ".repeat(30)}</p>`;
    const release = (i: number, title = `Memory Release ${i}: Border Officials Trained`) => ({
      id: `mem-${i}`,
      title,
      summary: "A three-day course for border officials on identifying and referring victims of trafficking.",
      body,
      dateline: "Djibouti",
      topics: ["counter-trafficking", "health"],
      regions: ["djibouti"],
      language: "en",
    });

    // 1. Releases, with no readers and no partners yet (nothing else grows).
    const f0 = await families(rt);
    for (let i = 0; i < RELEASES; i++) await svc.publish(release(i));
    const f1 = await families(rt);
    const isRelease = (f: string) => /^(release|releases|idx|facets|translations|outbox)/.test(f);
    report(`per release (${RELEASES} published, ~${body.length} B body)`, f1, f0, RELEASES, isRelease);
    for (let r = 2; r <= 11; r++)
      await svc.update("mem-0", release(0, `Memory Release 0, revision ${r}`), `Correction ${r}.`);
    const f2 = await families(rt);
    report("one release updated 10 times (growth over its first revision)", f2, f1, 1, isRelease);

    // 2. Subscribers: immediate readers wanting everything.
    const store = new SubscriberStore(rt.redis, config.prefix);
    const since = new Date().toISOString();
    for (let i = 0; i < SUBSCRIBERS; i += 1000) {
      const items: { next: Subscriber; previous: null }[] = [];
      for (let j = i; j < Math.min(SUBSCRIBERS, i + 1000); j++) {
        const email = `reader${j}@bench.example`;
        items.push({
          next: {
            id: subscriberId(email),
            email,
            name: `Reader ${j}`,
            language: "en",
            topics: [],
            regions: [],
            frequency: "immediate",
            timezone: "UTC",
            status: "confirmed",
            createdAt: since,
            updatedAt: since,
            confirmedAt: since,
          },
          previous: null,
        });
      }
      await store.saveMany(items);
    }
    const f3 = await families(rt);
    report(`per subscriber (${SUBSCRIBERS})`, f3, f2, SUBSCRIBERS);

    // 3. Alerts and webhooks: RELEASES more releases through the workers.
    for (const n of Object.keys(secrets))
      await addPartner(rt, {
        name: n,
        url: `http://127.0.0.1:${rx.port}/p/${n}`,
        secret: secrets[n],
        allowPrivate: true,
      });
    // The events of part 1 were never served (no workers then): only part 3's releases go out.
    await rt.queues[QUEUE.releaseEvents].obliterate({ force: true });
    await rt.redis.del(rt.key("outbox"));
    const f4 = await families(rt);
    const workers = startWorkers(rt, [QUEUE.releaseEvents, QUEUE.alerts, QUEUE.emails, QUEUE.partners]);
    const base = await sink.count();
    for (let i = RELEASES; i < 2 * RELEASES; i++) await svc.publish(release(i));
    const emails = RELEASES * SUBSCRIBERS;
    const hooks = RELEASES * PARTNERS;
    const deadline = Date.now() + 600_000;
    while (((await sink.count()) - base < emails || (await rx.count()) < hooks) && Date.now() < deadline)
      await sleep(200);
    await sleep(1000);
    await workers.close();
    closeMailer(rt);
    const f5 = await families(rt);
    const sent = (await sink.count()) - base;
    const delivered = await rx.count();
    const isWebhook = (f: string) => f.startsWith("partners") || f === "q:partners";
    const isRel = (f: string) => isRelease(f) || f === "q:release-events" || f === "q:feeds" || f === "q:websub";
    report(
      `per alert email (${sent} sent)`,
      f5,
      f4,
      sent,
      (f) => !isWebhook(f) && !isRel(f) && !/-bits$|^edition$|^alert-window$|^reader-n$/.test(f),
    );
    report("per subscriber, once alerted (its number)", f5, f4, SUBSCRIBERS, (f) => f === "reader-n");
    const isBits = (f: string) => /-bits$|^edition$|^alert-window$/.test(f);
    report(
      `per alert edition, for ${SUBSCRIBERS} numbered readers (bitmaps grow with the readers ever numbered, 1 bit each)`,
      f5,
      f4,
      RELEASES,
      isBits,
    );
    report(`per webhook (${delivered} delivered)`, f5, f4, delivered, isWebhook);
    report("per release, its events included", f5, f4, RELEASES, isRel);
  } finally {
    await rt.close();
    rx.child.kill();
    sink.stop();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
