// A partner delivery run survives its worker process being SIGKILLed twice: once in full flow,
// once while the partner holds every answer open. Every event reaches every partner; an event
// arrives twice only if its job was active (in flight) at a kill.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { webhookId } from "../../src/partners/envelope.ts";
import { addPartner } from "../../src/partners/service.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { type CrashReceiver, duplicates, startCrashReceiver } from "./receiver.ts";
import { startWorkerProcess, type WorkerProcess } from "./worker-process.ts";

const EVENTS = 200;
const PATHS = ["/a", "/b"];

let rt: TestRuntime | undefined;
let rx: CrashReceiver | undefined;
let worker: WorkerProcess | undefined;
let varDir: string | undefined;

afterEach(async () => {
  await worker?.kill();
  await rx?.close();
  await rt?.destroy();
  if (varDir) rmSync(varDir, { recursive: true, force: true });
  rt = rx = worker = varDir = undefined;
});

describe("partner delivery under SIGKILL", { timeout: 120_000 }, () => {
  it("delivers every event to every partner; duplicates only from jobs in flight at a kill", async () => {
    rx = await startCrashReceiver();
    rt = await testRuntime({ label: "crashp" });
    varDir = mkdtempSync(path.join(tmpdir(), "herald-crash-"));
    const partnerOf = new Map<string, string>();
    for (const p of PATHS) partnerOf.set(p, (await addPartner(rt, { name: `Partner ${p}`, url: rx.url(p), allowPrivate: true })).partner.id);
    worker = await startWorkerProcess({
      REDIS_URL: rt.redisUrl,
      HERALD_PREFIX: rt.config.prefix,
      VAR_DIR: varDir,
      PARTNER_RETRY_SCHEDULE: "0,0.2,0.5,1,1,1,1,1,1,1",
      PARTNER_TIMEOUT_MS: "8000",
    });

    const svc = new ReleaseService(rt);
    const ids: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const r = await svc.publish(sampleRelease({ id: `crash-${i}`, publishedAt: undefined }));
      ids.push(r.id);
    }
    const expected = new Set(PATHS.flatMap((p) => ids.map((id) => `${p} ${webhookId({ releaseId: id, revision: 1, event: "published" })}`)));
    const activeAtKill: Set<string>[] = [];
    const killNow = async () => {
      await worker!.kill();
      // The process is gone, so the active list is frozen: exactly the jobs it held (and any
      // left from an earlier kill that were not taken over yet).
      const active = await rt!.queues[QUEUE.partners].getActive(0, -1);
      activeAtKill.push(new Set(active.filter((j) => j.name === "deliver").map((j) => j.id!)));
    };

    // Kill 1: in full flow, about a third of the way.
    await eventually(() => rx!.delivered.size >= expected.size / 3, 60_000, "a third of the deliveries");
    await killNow();
    const beforeSecondRun = rx.delivered.size;

    // Kill 2: the partner holds every answer open, so requests are in flight at the kill
    // (the jobs recovered from kill 1 among them).
    rx.mode = "hold";
    await worker.restart();
    await eventually(() => rx!.open() >= 8, 30_000, "requests held open by the partner");
    const openAtKill = rx.open();
    await killNow();
    rx.mode = "ok";
    await worker.restart();

    await eventually(() => rx!.delivered.size >= expected.size, 90_000, `all ${expected.size} deliveries`);
    expect(new Set(rx.delivered.keys())).toEqual(expected);
    const seenTwice = new Map<string, number>();
    for (const s of rx.seen) seenTwice.set(`${s.path} ${s.webhookId}`, (seenTwice.get(`${s.path} ${s.webhookId}`) ?? 0) + 1);
    const dupDelivered = duplicates(rx.delivered);
    const dupSeen = duplicates(seenTwice);
    const inFlight = new Set(activeAtKill.flatMap((s) => [...s]));
    const both = [...activeAtKill[0]!].filter((id) => activeAtKill[1]!.has(id));
    console.info(
      `partner crash run: ${expected.size} deliveries, ${beforeSecondRun} before kill 1, ` +
        `delivery jobs active at the kills ${activeAtKill.map((s) => s.size).join(" and ")} (${both.length} at both, ${inFlight.size} in all), ` +
        `${openAtKill} requests held open at kill 2; answered 2xx twice: ${dupDelivered.extra}, received twice: ${dupSeen.extra}`,
    );
    // A delivery arrives twice only if its job was in flight at a kill, and at most once more per kill.
    const jobOf = (key: string) => {
      const [p, id] = key.split(" ");
      const releaseId = id!.replace(/^msg_/, "").replace(/_r1_published$/, "");
      return `${partnerOf.get(p!)}-${releaseId}-r1-published`;
    };
    for (const key of dupSeen.keys) expect(inFlight.has(jobOf(key)), key).toBe(true);
    expect(dupSeen.extra).toBeLessThanOrEqual(activeAtKill[0]!.size + activeAtKill[1]!.size);
    expect(dupDelivered.extra).toBeLessThanOrEqual(inFlight.size);
    const failed = await rt.queues[QUEUE.partners].getFailed(0, -1);
    expect(failed.map((j) => `${j.name} ${j.id}: ${j.failedReason}`)).toEqual([]);
  });
});
