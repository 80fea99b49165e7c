// Partner webhooks end to end: release service -> release-events -> partners fan-out ->
// signed POST to a real local receiver that verifies every signature with `standardwebhooks`.
// Partners point at 127.0.0.1, so they are added with allowPrivate (the SSRF guard's escape).
import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/index.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { generateSecret } from "../../src/partners/model.ts";
import { Webhook } from "standardwebhooks";
import {
  addPartner,
  enablePartner,
  listPartners,
  partnerStore,
  replayPartner,
  rotateSecret,
} from "../../src/partners/service.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { drained } from "../helpers/drain.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { type Answer, type Receiver, startReceiver } from "../helpers/webhook-receiver.ts";

let rt: TestRuntime | undefined;
let workers: Workers | undefined;
let rx: Receiver | undefined;

afterEach(async () => {
  await workers?.close(true);
  await rx?.close();
  await rt?.destroy();
  rt = workers = rx = undefined;
});

const SERVED = [QUEUE.releaseEvents, QUEUE.partners];

async function setup(config: Partial<Config> = {}) {
  rx = await startReceiver();
  rt = await testRuntime({
    label: "prt",
    config: { partnerRetrySchedule: [0, 50, 100, 150], partnerTimeoutMs: 400, ...config },
  });
  workers = startWorkers(rt, SERVED);
  return { rt, rx, svc: new ReleaseService(rt) };
}

async function partner(path: string, answer?: (n: number) => Answer, extra: Record<string, unknown> = {}) {
  const secret = generateSecret();
  rx!.route(path, { secret, answer });
  const { partner: p } = await addPartner(rt!, {
    name: `Partner ${path}`,
    url: rx!.url(path),
    secret,
    allowPrivate: true,
    ...extra,
  });
  return p;
}

const release = (id: string, extra = {}) => sampleRelease({ id, publishedAt: undefined, ...extra });

describe("partner delivery", () => {
  it("retries 500, 500, then delivers once with the same webhook-id and valid signatures", async () => {
    const { svc } = await setup();
    const p = await partner("/a", (n) => ({ status: n < 2 ? 500 : 200 }));
    await svc.publish(release("retry-me"));
    await eventually(() => rx!.delivered("/a").length === 1, 10_000, "delivery");
    const got = rx!.received("/a");
    expect(got).toHaveLength(3);
    expect(got.every((r) => r.verified)).toBe(true);
    expect(new Set(got.map((r) => r.webhookId))).toEqual(new Set(["msg_retry-me_r1_published"]));
    expect(new Set(got.map((r) => r.body)).size).toBe(1); // byte-identical payload on every attempt
    expect(got[0]!.json).toMatchObject({
      type: "release.published",
      data: { uri: "http://localhost:3000/releases/retry-me", version: "1", pubStatus: "usable" },
    });
    const log = await eventually(
      async () => {
        const l = await partnerStore(rt!).deliveryLog(p.id);
        return l.length === 3 ? l : null;
      },
      5_000,
      "log of three attempts",
    );
    expect(log!.map((e) => [e.attempt, e.status, e.outcome])).toEqual([
      [3, 200, "delivered"],
      [2, 500, "failed"],
      [1, 500, "failed"],
    ]);
    expect(await partnerStore(rt!).deadLetters(p.id)).toEqual([]);
    // Exactly one delivery: nothing else arrives.
    await drained(rt!, { queues: SERVED });
    expect(rx!.delivered("/a")).toHaveLength(1);
  });

  it("410 Gone disables the partner and stops further deliveries", async () => {
    const { svc } = await setup();
    const p = await partner("/gone", () => ({ status: 410 }));
    await svc.publish(release("gone-1"));
    await eventually(async () => (await partnerStore(rt!).get(p.id))?.status === "disabled", 10_000, "disabled");
    const after = await partnerStore(rt!).get(p.id);
    expect(after?.disabledReason).toMatch(/410 Gone/);
    await svc.publish(release("gone-2"));
    const fan = await eventually(async () => {
      const j = await rt!.queues[QUEUE.partners].getJob("fanout-gone-2-r1-published");
      return (await j?.isCompleted()) ? j : null;
    });
    expect(fan!.returnvalue).toEqual({ partners: [] });
    expect(rx!.received("/gone")).toHaveLength(1);
    const [summary] = await listPartners(rt!);
    expect(summary).toMatchObject({ partner: { status: "disabled" }, lastDelivery: { status: 410, outcome: "gone" } });
  });

  it("honours Retry-After on 429", async () => {
    const { svc } = await setup();
    await partner("/busy", (n) => (n === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 }));
    await svc.publish(release("later-please"));
    await eventually(() => rx!.delivered("/busy").length === 1, 10_000, "delivery");
    const [first, second] = rx!.received("/busy");
    // The schedule alone would retry after ~50 ms; the partner asked for 1 s.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    expect(second!.webhookId).toBe(first!.webhookId);
  });

  it("times out a partner that never answers and dead-letters after the last attempt", async () => {
    const { svc } = await setup();
    const p = await partner("/hang", () => ({ status: 200, hang: true }));
    await svc.publish(release("hang-1"));
    const dead = await eventually(async () => (await partnerStore(rt!).deadLetters(p.id))[0], 15_000, "dead letter");
    expect(dead).toMatchObject({
      releaseId: "hang-1",
      revision: 1,
      event: "published",
      status: null,
      attempts: 4,
      webhookId: "msg_hang-1_r1_published",
    });
    expect(dead!.error).toMatch(/timeout/);
    expect(rx!.received("/hang")).toHaveLength(4);
    const [summary] = await listPartners(rt!);
    expect(summary!.deadLetters).toBe(1);
  });

  it("does not follow redirects; a dead letter can be replayed with the same webhook-id", async () => {
    const { svc } = await setup();
    let moved = true;
    const p = await partner("/old", () =>
      moved ? { status: 302, headers: { location: rx!.url("/new") } } : { status: 200 },
    );
    rx!.route("/new", { secret: generateSecret() });
    await svc.publish(release("moved-1"));
    const dead = await eventually(async () => (await partnerStore(rt!).deadLetters(p.id))[0], 10_000, "dead letter");
    expect(dead).toMatchObject({ status: 302 });
    expect(dead!.error).toMatch(/redirects are not followed/);
    expect(rx!.received("/new")).toHaveLength(0);

    moved = false;
    const r = await replayPartner(rt!, p.id, { deadLetters: true });
    expect(r.queued).toBe(1);
    await eventually(() => rx!.delivered("/old").length === 1, 10_000, "replayed delivery");
    expect(rx!.delivered("/old")[0]!.webhookId).toBe("msg_moved-1_r1_published");
    expect(await partnerStore(rt!).deadLetters(p.id)).toEqual([]);
  });

  it("replays everything since a time, with the original webhook-ids", async () => {
    const { svc } = await setup();
    const p = await partner("/again");
    await svc.publish(release("again-1"));
    await svc.publish(release("again-2"));
    await eventually(() => rx!.delivered("/again").length === 2, 10_000, "deliveries");
    const r = await replayPartner(rt!, p.id, { since: new Date(Date.now() - 60_000).toISOString() });
    expect(r.queued).toBe(2);
    await eventually(() => rx!.delivered("/again").length === 4, 10_000, "replays");
    const ids = rx!.delivered("/again").map((x) => x.webhookId);
    expect(ids.slice(2).sort()).toEqual(ids.slice(0, 2).sort());
    expect((await replayPartner(rt!, p.id, { since: new Date(Date.now() + 60_000).toISOString() })).queued).toBe(0);
  });
});

describe("ordering of revisions (one partner, one release)", () => {
  it("a newer revision waits while an older one is in flight", async () => {
    const { svc } = await setup({ partnerTimeoutMs: 2_000 });
    await partner("/order", (n) => (n === 0 ? { status: 200, delayMs: 400 } : { status: 200 }));
    await svc.publish(release("ordered"));
    await eventually(() => rx!.received("/order").length === 1, 10_000, "r1 in flight");
    await svc.update("ordered", release("ordered", { title: "Corrected title" }), "title fixed");
    await eventually(() => rx!.delivered("/order").length === 2, 10_000, "both");
    const [a, b] = rx!.delivered("/order");
    expect([a!.json.data.version, b!.json.data.version]).toEqual(["1", "2"]);
    expect(b!.at).toBeGreaterThanOrEqual(a!.answeredAt!); // r2 was sent only after r1 was answered
    expect(b!.json).toMatchObject({ type: "release.updated", data: { edNote: "title fixed" } });
  });

  it("skips a superseded revision that is still pending", async () => {
    const { svc } = await setup({ partnerRetrySchedule: [0, 300, 300, 300, 300] });
    let down = true;
    const p = await partner("/skip", () => ({ status: down ? 503 : 200 }));
    await svc.publish(release("super"));
    await eventually(() => rx!.received("/skip").length >= 1, 10_000, "r1 failed once");
    await svc.update("super", release("super", { title: "Second version" }));
    await eventually(() => rt!.queues[QUEUE.partners].getJob(`${p.id}-super-r2-updated`), 10_000, "r2 queued");
    down = false;
    const r1 = await eventually(
      async () => {
        const j = await rt!.queues[QUEUE.partners].getJob(`${p.id}-super-r1-published`);
        return (await j?.isCompleted()) ? j : null;
      },
      10_000,
      "r1 done",
    );
    expect(r1!.returnvalue).toMatch(/^superseded/);
    await eventually(() => rx!.delivered("/skip").length === 1, 10_000, "r2 delivered");
    await drained(rt!, { queues: SERVED });
    expect(rx!.delivered("/skip").map((x) => x.json.data.version)).toEqual(["2"]);
    const log = await partnerStore(rt!).deliveryLog(p.id);
    expect(log.some((e) => e.revision === 1 && e.outcome === "superseded")).toBe(true);
  });
});

describe("isolation", () => {
  it("a partner that never answers does not delay the others", async () => {
    // 4 worker slots, at most 2 per partner: without the per-partner limit the hanging partner's
    // jobs would take all 4 slots and the healthy partner would wait for their 6 s timeouts.
    const { svc } = await setup({
      partnerConcurrency: 4,
      partnerMaxInFlight: 2,
      partnerTimeoutMs: 6_000,
      partnerRetrySchedule: [0, 10_000],
    });
    const slow = await partner("/slow", () => ({ status: 200, hang: true }));
    await partner("/fast");
    for (let i = 0; i < 8; i++) await svc.publish(release(`iso-${i}`));
    await eventually(() => rx!.delivered("/fast").length === 8, 10_000, "healthy deliveries");
    // Still inside the first timeout window: no attempt to the slow partner has finished yet.
    expect(await partnerStore(rt!).deliveryLog(slow.id)).toEqual([]);
    expect(rx!.received("/slow").length).toBeLessThanOrEqual(2);
  });
});

describe("embargo", () => {
  it("partners with embargo access get the embargoed release early; the others at publication", async () => {
    const { svc } = await setup();
    await partner("/early", undefined, { embargoAccess: true });
    await partner("/public");
    const until = new Date(Date.now() + 1_000).toISOString();
    await svc.publish(release("secret-plan", { embargoUntil: until }));
    // The two partners' publication deliveries are separate jobs: wait for both.
    await eventually(
      () => rx!.delivered("/public").length === 1 && rx!.delivered("/early").length === 2,
      10_000,
      "publication to both",
    );
    const early = rx!.delivered("/early");
    expect(early.map((r) => r.json.type)).toEqual(["release.embargoed", "release.published"]);
    expect(early[0]!.json.data.embargoedUntil).toBe(until);
    expect(early[1]!.json.data.embargoedUntil).toBeUndefined();
    expect(rx!.delivered("/public").map((r) => r.json.type)).toEqual(["release.published"]);
    expect(rx!.delivered("/public")[0]!.json.data.embargoedUntil).toBeUndefined();
  });
});

describe("SSRF guard at delivery time", () => {
  it("refuses a partner whose name now resolves to loopback, without connecting", async () => {
    const { svc } = await setup();
    const secret = generateSecret();
    rx!.route("/inside", { secret });
    // As if DNS changed after the partner was added: store it directly, as a public-only partner.
    await partnerStore(rt!).create({
      id: "rebound",
      name: "Rebound",
      url: `https://localhost:${rx!.port}/inside`,
      secret,
      topics: [],
      regions: [],
      languages: [],
      embargoAccess: false,
      allowPrivate: false,
      status: "active",
      createdAt: new Date().toISOString(),
    });
    await svc.publish(release("no-inside"));
    const dead = await eventually(
      async () => (await partnerStore(rt!).deadLetters("rebound"))[0],
      10_000,
      "dead letter",
    );
    expect(dead!.error).toMatch(/refused: .*localhost resolves to (127\.0\.0\.1|::1), loopback/);
    expect(dead!.attempts).toBe(1);
    expect(rx!.received()).toHaveLength(0);
    expect((await partnerStore(rt!).deliveryLog("rebound"))[0]).toMatchObject({ outcome: "refused", status: null });
  });

  it("rotates a secret: both sign during the overlap, then only the new one", async () => {
    const { svc } = await setup();
    const p = await partner("/rot");
    const verifies = (
      secret: string,
      r: { body: string; webhookId: string; webhookTimestamp: string; webhookSignature: string },
    ) => {
      try {
        new Webhook(secret).verify(r.body, {
          "webhook-id": r.webhookId,
          "webhook-timestamp": r.webhookTimestamp,
          "webhook-signature": r.webhookSignature,
        });
        return true;
      } catch {
        return false;
      }
    };
    const rotated = await rotateSecret(rt!, p.id, { overlapHours: 24 });
    await svc.publish(release("during-overlap"));
    await eventually(() => rx!.delivered("/rot").length === 1, 10_000, "delivery during the overlap");
    const first = rx!.received("/rot")[0]!;
    expect(first.verified).toBe(true); // the receiver still holds the old secret
    expect(verifies(rotated.secret, first)).toBe(true);
    expect(first.webhookSignature.split(" ")).toHaveLength(2);

    const now = await rotateSecret(rt!, p.id, { overlapHours: 0 });
    await svc.publish(release("after-switch"));
    await eventually(() => rx!.received("/rot").length >= 2, 10_000, "delivery after the switch");
    const second = rx!.received("/rot")[1]!;
    expect(second.verified).toBe(false); // the old secret no longer signs
    expect(verifies(now.secret, second)).toBe(true);
    expect(second.webhookSignature.split(" ")).toHaveLength(1);
    const listed = JSON.stringify(await listPartners(rt!));
    expect(listed).not.toContain(now.secret.slice(6));
    expect(listed).not.toContain(rotated.secret.slice(6));
  });

  it("a disabled partner can be enabled again", async () => {
    await setup();
    const p = await partner("/back");
    await partnerStore(rt!).setStatus(p.id, "disabled", "partner answered 410 Gone", new Date().toISOString());
    await enablePartner(rt!, p.id);
    expect((await partnerStore(rt!).get(p.id))?.status).toBe("active");
    await expect(enablePartner(rt!, "nope")).rejects.toMatchObject({ status: 404 });
  });
});
