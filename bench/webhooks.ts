// Partner webhooks benchmark: 10 partners x 1,000 release events to a receiver in a separate
// process. Three runs:
//   burst        1,000 events published as fast as possible: deliveries/s (throughput)
//   paced        1,000 events at a steady rate: publish->delivered p50/p95/p99 (latency)
//   paced-1-down the same, with one of the 10 partners answering 500 to everything: the
//                other nine's latency (isolation)
// Prints a table, then a BENCH JSON line. Goals (2-core machine): >= 500 deliveries/s; healthy
// partners' p95 within 20 % with a failing one. Runs on its own throwaway redis-server on a free
// port.   Usage: npx tsx bench/webhooks.ts [events] [paced events/s]
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { testConfig } from "../src/config/index.ts";
import { QUEUE } from "../src/jobs/queues.ts";
import { startWorkers } from "../src/jobs/workers.ts";
import { generateSecret } from "../src/partners/model.ts";
import { addPartner } from "../src/partners/service.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import { ReleaseService } from "../src/releases/service.ts";
import { createRuntime } from "../src/runtime.ts";

const EVENTS = Number(process.argv[2] ?? 1000);
const RATE = Number(process.argv[3] ?? 30);
const PARTNERS = 10;

interface Receiver {
  child: ChildProcess;
  port: number;
  get<T>(what: "count" | "stats"): Promise<T>;
}

async function startReceiver(secrets: Record<string, string>): Promise<Receiver> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "webhook-receiver.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`receiver exited with ${code}`)));
    lines.on("line", (l) => {
      if (l.startsWith("PORT ")) resolve(Number(l.slice(5)));
    });
  });
  child.stdin!.write(`${JSON.stringify(secrets)}\n`);
  await new Promise<void>((resolve) => lines.on("line", (l) => l === "READY" && resolve()));
  return {
    child,
    port,
    get: async <T>(what: string) => (await (await fetch(`http://127.0.0.1:${port}/${what}`)).json()) as T,
  };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Result {
  scenario: string;
  healthyPartners: number;
  deliveries: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  failedAnswers: number;
}

async function scenario(redisUrl: string, name: string, failing: number, ratePerSecond?: number): Promise<Result> {
  const prefix = `bench-${name}`;
  const rt = await createRuntime({ config: testConfig({ prefix }), redisUrl });
  const secrets: Record<string, string> = {};
  const names = Array.from({ length: PARTNERS }, (_, i) => (i < failing ? `fail${i}` : `ok${i}`));
  for (const n of names) secrets[n] = generateSecret();
  const rx = await startReceiver(secrets);
  for (const n of names) {
    await addPartner(rt, {
      name: n,
      url: `http://127.0.0.1:${rx.port}/p/${n}`,
      secret: secrets[n],
      allowPrivate: true,
    });
  }
  const workers = startWorkers(rt, [QUEUE.releaseEvents, QUEUE.partners]);
  const svc = new ReleaseService(rt);
  const publishedAt = new Map<string, number>();
  const started = Date.now();
  const publish = async (i: number) => {
    const id = `bench-${name}-${i}`;
    publishedAt.set(`msg_${id}_r1_published`, Date.now());
    await svc.publish({
      id,
      title: `Benchmark release ${i}`,
      body: `<p>Release ${i} body.</p>`,
      topics: ["health"],
      regions: ["djibouti"],
      language: "en",
    });
  };
  let next = 0;
  if (ratePerSecond) {
    // A steady stream: event i is published at started + i / rate.
    while (next < EVENTS) {
      const due = started + (next * 1000) / ratePerSecond;
      if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
      await publish(next++);
    }
  } else {
    // A burst, as a big import would arrive: 20 requests at a time.
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < EVENTS) await publish(next++);
      }),
    );
  }
  const healthy = PARTNERS - failing;
  const expected = EVENTS * healthy;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const c = await rx.get<{ count: number }>("count");
    if (c.count >= expected || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stats = await rx.get<{ arrivals: { name: string; id: string; at: number }[]; bad: number; failed: number }>(
    "stats",
  );
  if (stats.bad) throw new Error(`${stats.bad} webhook(s) failed signature verification`);
  const last = Math.max(...stats.arrivals.map((a) => a.at));
  const lat = stats.arrivals.map((a) => a.at - publishedAt.get(a.id)!).sort((a, b) => a - b);
  await workers.close(true);
  rx.child.kill();
  await rt.queues[QUEUE.partners].obliterate({ force: true });
  await rt.close();
  const seconds = (last - started) / 1000;
  return {
    scenario: name,
    healthyPartners: healthy,
    deliveries: stats.arrivals.length,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(stats.arrivals.length / seconds),
    p50: pct(lat, 50),
    p95: pct(lat, 95),
    p99: pct(lat, 99),
    failedAnswers: stats.failed,
  };
}

const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-webhooks-"));
const redis = await startRedisServer({ dir, port: await freePort(), appendonly: false });
try {
  const burst = await scenario(redis.url, "burst", 0);
  const all = await scenario(redis.url, "paced", 0, RATE);
  const oneDown = await scenario(redis.url, "paced-1-down", 1, RATE);
  const rows = [burst, all, oneDown];
  const head = [
    "scenario",
    "healthy partners",
    "deliveries",
    "seconds",
    "deliveries/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "500s answered",
  ];
  const body = rows.map((r) =>
    [r.scenario, r.healthyPartners, r.deliveries, r.seconds, r.perSecond, r.p50, r.p95, r.p99, r.failedAnswers].map(
      String,
    ),
  );
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  for (const line of [head, ...body]) console.log(line.map((c, i) => c.padStart(w[i]!)).join("  "));
  const p95Change = (oneDown.p95 - all.p95) / all.p95;
  console.log(`\npaced at ${RATE} events/s (${RATE * PARTNERS} deliveries/s offered)`);
  console.log(`burst throughput: ${burst.perSecond} deliveries/s (goal >= 500)`);
  console.log(
    `healthy partners' p95 with one failing partner: ${p95Change >= 0 ? "+" : ""}${(p95Change * 100).toFixed(1)} % (goal: within 20 %)`,
  );
  console.log(
    `BENCH ${JSON.stringify({
      name: "webhooks",
      events: EVENTS,
      partners: PARTNERS,
      deliveriesPerSecond: burst.perSecond,
      burstP95Ms: burst.p95,
      pacedEventsPerSecond: RATE,
      p95Ms: all.p95,
      p95MsWithFailingPartner: oneDown.p95,
      p95Change: Number(p95Change.toFixed(3)),
      goals: { deliveriesPerSecond: burst.perSecond >= 500, p95Within20Percent: p95Change <= 0.2 },
    })}`,
  );
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
