// `herald demo`: every channel working on sample releases, through the real queues, in its own
// Redis prefix, in under 30 seconds. It publishes examples/releases/, adds sample readers and a
// local partner receiver that verifies every signature, runs the alerts, a daily digest, the
// partner deliveries and the feed rebuilds, writes what came out under var/demo/, then removes
// its keys from Redis.
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { Webhook } from "standardwebhooks";
import type { Config } from "./config/index.ts";
import { FORMAT_FILE, FORMATS } from "./feeds/keys.ts";
import { buildApp } from "./http/app.ts";
import { previewDigest, runDigest } from "./mail/digests.ts";
import { QUEUE_NAMES } from "./jobs/queues.ts";
import { startWorkers } from "./jobs/workers.ts";
import { closeMailer } from "./mail/transport.ts";
import { addPartner } from "./partners/service.ts";
import type { RedisTarget } from "./redis/connection.ts";
import { deleteMatching } from "./redis/scan.ts";
import { freePort } from "./redis/embedded.ts";
import { type ReleaseDeps, ReleaseService } from "./releases/service.ts";
import { createRuntime, type Runtime } from "./runtime.ts";
import type { SubscriberInput } from "./subscribers/model.ts";
import { type SubscriberDeps, SubscriberService, subscriberStore } from "./subscribers/service.ts";

export const EXAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../examples/releases");

/** Readers in three languages, three frequencies and several timezones. */
export const DEMO_READERS: SubscriberInput[] = [
  { email: "amina.hassan@example.org", name: "Amina Hassan", language: "en", frequency: "immediate" },
  {
    email: "claire.dubois@example.org",
    name: "Claire Dubois",
    language: "fr",
    frequency: "immediate",
    topics: ["counter-trafficking"],
  },
  {
    email: "lucia.quispe@example.org",
    name: "Lucía Quispe",
    language: "es",
    frequency: "daily",
    timezone: "America/Lima",
  },
  { email: "kenji.sato@example.org", name: "Kenji Sato", language: "en", frequency: "daily", timezone: "Asia/Tokyo" },
  {
    email: "sam.okafor@example.org",
    name: "Sam Okafor",
    language: "en",
    frequency: "weekly",
    timezone: "Europe/London",
    regions: ["somalia"],
  },
];

export interface DemoResult {
  outDir: string;
  outbox: string[];
  partnerDeliveries: { webhookId: string; type: string; verified: boolean }[];
  feeds: Record<string, string>;
  previewFile: string | null;
  releases: string[];
  seconds: number;
}

interface Receiver {
  url: string;
  received: { webhookId: string; type: string; verified: boolean }[];
  close(): Promise<void>;
}

/** The sample partner: a local endpoint that verifies each Standard Webhooks signature. */
async function startReceiver(dir: string, secret: () => string): Promise<Receiver> {
  mkdirSync(dir, { recursive: true });
  const received: Receiver["received"] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = {
        "webhook-id": String(req.headers["webhook-id"] ?? ""),
        "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
      };
      let verified = false;
      let type = "unknown";
      try {
        const payload = new Webhook(secret()).verify(body, headers) as { type: string };
        verified = true;
        type = payload.type;
      } catch {
        verified = false;
      }
      received.push({ webhookId: headers["webhook-id"], type, verified });
      writeFileSync(path.join(dir, `${headers["webhook-id"].replace(/[^A-Za-z0-9_.-]/g, "_")}.json`), body);
      res.writeHead(verified ? 200 : 401).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/herald`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Waits until no queue has work waiting, active or (briefly) delayed. */
async function drained(rt: Pick<Runtime, "queues">, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    const counts = await Promise.all(
      QUEUE_NAMES.map((q) => rt.queues[q].getJobCounts("waiting", "active", "delayed", "prioritized")),
    );
    const busy = counts.reduce(
      (n, c) => n + (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0),
      0,
    );
    quiet = busy === 0 ? quiet + 1 : 0;
    if (quiet >= 3) return; // three quiet looks in a row: fan-outs queue follow-up work
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the demo's queues did not drain within ${timeoutMs / 1000} s`);
}

async function deletePrefix(rt: Pick<Runtime, "redis" | "keyPatterns">): Promise<void> {
  await deleteMatching(rt.redis, rt.keyPatterns());
}

export interface DemoOptions {
  config: Config;
  redisUrl: RedisTarget;
  /** Where results go (default VAR_DIR/demo); emptied first. */
  outDir?: string;
  /** Keep the demo's Redis keys (default: removed at the end). */
  keep?: boolean;
  say?: (line: string) => void;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const say = o.say ?? (() => {});
  const outDir = o.outDir ?? path.join(o.config.varDir, "demo");
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const port = await freePort();
  const config = demoConfig(o.config, outDir, port);
  const rt = await createRuntime({ config, redisUrl: o.redisUrl });
  const workers = startWorkers(rt);
  const app = await buildApp(rt, { apiToken: randomBytes(24).toString("base64url") });
  let partnerSecret = "";
  const receiver = await startReceiver(path.join(outDir, "partner"), () => partnerSecret);
  try {
    await app.listen({ host: "127.0.0.1", port });
    say(`demo prefix ${config.prefix}, serving ${config.publicUrl}`);
    partnerSecret = await addAudience(rt, receiver.url, say);
    const releases = await publishExamples(rt, say);
    await drained(rt, 20_000);
    say(`alerts, partner deliveries and feed rebuilds done`);

    const digest = await runDigest(rt, "daily", rt.clock.now(), { dryRun: false });
    await drained(rt, 20_000);
    say(`daily digest: ${digest.readers} reader(s) in ${digest.segments.length} segment(s)`);
    const previewFile = await writeWeeklyPreview(rt, outDir);
    const feeds = await writeFeeds(app, outDir);
    const outbox = readdirSync(config.outboxDir)
      .filter((f) => f.endsWith(".eml"))
      .sort();
    return {
      outDir,
      outbox: outbox.map((f) => path.join(config.outboxDir, f)),
      partnerDeliveries: receiver.received,
      feeds,
      previewFile,
      releases,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await app.close();
    await workers.close();
    closeMailer(rt);
    await receiver.close();
    if (!o.keep) await deletePrefix(rt);
    await rt.close();
  }
}

/** The caller's config, in a prefix of its own, writing .eml files and serving on `port`. */
function demoConfig(base: Config, outDir: string, port: number): Config {
  return {
    ...base,
    prefix: `${base.prefix}-demo-${randomBytes(3).toString("hex")}`,
    smtpUrl: undefined, // the demo writes .eml files, whatever SMTP_URL says
    outboxDir: path.join(outDir, "outbox"),
    publicUrl: `http://127.0.0.1:${port}`,
    secretKey: base.secretKey ?? randomBytes(32).toString("base64url"),
    emailRatePerSecond: Math.max(base.emailRatePerSecond, 200),
    // The demo publishes each translation right after its original: a short wait shows the rule
    // (French readers get the French version) without the demo sitting out five minutes.
    alertTranslationWaitMs: Math.min(base.alertTranslationWaitMs, 2_000),
  };
}

/** Adds the sample partner (at `receiverUrl`) and the sample readers; returns the partner's secret. */
async function addAudience(rt: SubscriberDeps, receiverUrl: string, say: (line: string) => void): Promise<string> {
  const added = await addPartner(rt, {
    name: "Demo news agency",
    url: receiverUrl,
    allowPrivate: true,
    embargoAccess: true,
  });
  const subscribers = new SubscriberService(rt);
  for (const r of DEMO_READERS) await subscribers.upsert(r, { confirmed: true });
  say(`added ${DEMO_READERS.length} readers (immediate, daily, weekly; en, fr, es) and partner ${added.partner.id}`);
  return added.generatedSecret ?? "";
}

/** Publishes examples/releases/ in name order; returns their ids. */
async function publishExamples(rt: ReleaseDeps, say: (line: string) => void): Promise<string[]> {
  // Publication times relative to now, so the digest finds them whenever the demo runs.
  const files = readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort();
  const service = new ReleaseService(rt);
  const releases: string[] = [];
  for (const [i, f] of files.entries()) {
    const input = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, f), "utf8")) as Record<string, unknown>;
    input.publishedAt = new Date(rt.clock.now() - (files.length - i) * 3600_000).toISOString();
    const r = await service.publish(input);
    releases.push(r.id);
    say(`published ${r.id} (${input.language})`);
  }
  return releases;
}

/** The exact HTML the weekly reader will get on their day (daily readers just had theirs). */
async function writeWeeklyPreview(
  rt: Pick<Runtime, "subscribers" | "releases" | "config" | "taxonomy" | "clock">,
  outDir: string,
): Promise<string | null> {
  const weekly = await subscriberStore(rt).byEmail("sam.okafor@example.org");
  const html = weekly ? await previewDigest(rt, "weekly", weekly, rt.clock.now()) : null;
  const previewFile = html ? path.join(outDir, "digest-preview.html") : null;
  if (previewFile && html) writeFileSync(previewFile, html);
  return previewFile;
}

/** Snapshots of every feed format, as served; format -> file. */
async function writeFeeds(app: FastifyInstance, outDir: string): Promise<Record<string, string>> {
  const feeds: Record<string, string> = {};
  mkdirSync(path.join(outDir, "feeds"), { recursive: true });
  for (const f of FORMATS) {
    const res = await app.inject({ url: `/feeds/${FORMAT_FILE[f]}` });
    const file = path.join(outDir, "feeds", FORMAT_FILE[f]);
    writeFileSync(file, res.body);
    feeds[f] = file;
  }
  return feeds;
}
