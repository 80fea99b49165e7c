// A partner that fails (503), then is gone (connection refused), then comes back: with a
// compressed retry schedule every event is delivered exactly once, and every attempt of an
// event carries the same webhook-id (the partner can deduplicate on it).
import { afterEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { webhookId } from "../../src/partners/envelope.ts";
import { releaseUri } from "../../src/partners/ninjs.ts";
import { addPartner, partnerStore } from "../../src/partners/service.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { type CrashReceiver, startCrashReceiver } from "./receiver.ts";

const EVENTS = 40;

let rt: TestRuntime | undefined;
let workers: Workers | undefined;
let rx: CrashReceiver | undefined;

afterEach(async () => {
  await workers?.close(true);
  await rx?.close();
  await rt?.destroy();
  rt = workers = rx = undefined;
});

describe("partner outage", { timeout: 60_000 }, () => {
  it("503s, then connection refused, then up: each event delivered once, same webhook-id on every attempt", async () => {
    rx = await startCrashReceiver();
    rx.mode = "fail";
    // Ten attempts over about nine seconds: the outage below must outlast the first few.
    rt = await testRuntime({
      label: "outage",
      config: { partnerRetrySchedule: [0, 300, 500, 800, 1000, 1000, 1500, 1500, 2000, 2000] },
    });
    const { partner } = await addPartner(rt, { name: "Down", url: rx.url("/hook"), allowPrivate: true });
    workers = startWorkers(rt, [QUEUE.releaseEvents, QUEUE.partners]);
    const svc = new ReleaseService(rt);
    const ids: string[] = [];
    for (let i = 0; i < EVENTS; i++)
      ids.push((await svc.publish(sampleRelease({ id: `outage-${i}`, publishedAt: undefined }))).id);

    // Phase 1: every event has been tried and answered 503.
    await eventually(() => new Set(rx!.seen.map((s) => s.webhookId)).size === EVENTS, 20_000, "a 503 for every event");
    // Phase 2: nothing listens on the port; attempts fail with ECONNREFUSED.
    await rx.down();
    const refused = async () =>
      (await partnerStore(rt!).deliveryLog(partner.id, 100)).filter((e) => /ECONNREFUSED/.test(e.error ?? "")).length;
    await eventually(async () => (await refused()) >= EVENTS / 2, 20_000, "refused attempts while the partner is down");
    // Phase 3: back.
    rx.mode = "ok";
    await rx.up();

    await eventually(() => rx!.delivered.size === EVENTS, 30_000, "every event delivered");
    const expectedIds = new Map(
      ids.map((id) => [
        releaseUri(rt!.config.publicUrl, id),
        webhookId({ releaseId: id, revision: 1, event: "published" }),
      ]),
    );
    expect([...rx.delivered.values()].every((n) => n === 1)).toBe(true);
    expect(new Set([...rx.delivered.keys()])).toEqual(new Set([...expectedIds.values()].map((w) => `/hook ${w}`)));
    // Every attempt that reached the partner (503s and the final 200) carried the event's one id.
    for (const s of rx.seen) expect(s.webhookId).toBe(expectedIds.get(s.uri));
    expect(rx.seen.length).toBeGreaterThan(EVENTS);
    expect(await partnerStore(rt).deadLetters(partner.id)).toEqual([]);
    expect(await rt.queues[QUEUE.partners].getFailedCount()).toBe(0);
  });
});
