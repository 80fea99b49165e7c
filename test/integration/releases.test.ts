import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.ts";
import { dispatchReleaseEvent, processReleaseEvent } from "../../src/jobs/release-events.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime;
const clock = fixedClock("2026-11-28T10:00:00Z");
beforeEach(async () => {
  clock.set("2026-11-28T10:00:00Z");
  rt = await testRuntime({ clock, label: "rel" });
});
afterEach(() => rt.destroy());

const jobIds = async (queue: keyof typeof QUEUE) =>
  (await rt.queues[QUEUE[queue]].getJobs(["waiting", "delayed", "active", "completed"])).map((j) => j.id).sort();

describe("publishing", () => {
  it("stores revision 1, indexes it and queues one event", async () => {
    const svc = new ReleaseService(rt);
    const r = await svc.publish(
      sampleRelease({ id: "border-training", topics: ["counter-trafficking"], regions: ["djibouti"] }),
    );
    expect(r).toMatchObject({ id: "border-training", revision: 1, status: "published", event: "published" });
    expect(await jobIds("releaseEvents")).toEqual(["border-training-r1-published"]);
    expect((await rt.releases.newest("topics/counter-trafficking", 10)).map((x) => x.id)).toEqual(["border-training"]);
    expect((await rt.releases.newest("languages/en", 10)).map((x) => x.id)).toEqual(["border-training"]);
    expect(await rt.releases.pendingEvents()).toEqual([]);
  });

  it("publishing the same release twice queues no second event", async () => {
    const svc = new ReleaseService(rt);
    const input = sampleRelease({ id: "twice" });
    await svc.publish(input);
    const again = await svc.publish(input);
    expect(again).toMatchObject({ revision: 1, event: null });
    expect(await jobIds("releaseEvents")).toEqual(["twice-r1-published"]);
  });

  it("refuses other content under an existing id and changes nothing", async () => {
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "taken", title: "First" }));
    await expect(svc.publish(sampleRelease({ id: "taken", title: "Second" }))).rejects.toMatchObject({ status: 409 });
    expect((await rt.releases.get("taken"))?.title).toBe("First");
  });

  it("an update keeps the id, bumps the revision and moves the indexes", async () => {
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "moves", topics: ["health"] }));
    clock.advance(60_000);
    const u = await svc.update("moves", sampleRelease({ topics: ["migration-data"] }), "Corrected the topic");
    expect(u).toMatchObject({ id: "moves", revision: 2, event: "updated" });
    const cur = await rt.releases.get("moves");
    expect(cur).toMatchObject({
      revision: 2,
      correction: "Corrected the topic",
      createdAt: "2026-11-28T10:00:00.000Z",
      updatedAt: "2026-11-28T10:01:00.000Z",
    });
    expect(await rt.releases.newest("topics/health", 10)).toEqual([]);
    expect((await rt.releases.newest("topics/migration-data", 10)).map((x) => x.id)).toEqual(["moves"]);
    expect((await rt.releases.getRevision("moves", 1))?.topics).toEqual(["health"]);
  });

  it("withdrawal removes the release from every index", async () => {
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "gone" }));
    const w = await svc.withdraw("gone");
    expect(w).toMatchObject({ revision: 2, status: "withdrawn", event: "withdrawn" });
    expect(await rt.releases.newest("all", 10)).toEqual([]);
    expect(await svc.withdraw("gone")).toMatchObject({ event: null });
    await expect(svc.update("gone", sampleRelease())).rejects.toMatchObject({ status: 409 });
  });

  it("an embargoed release is not public and gets a delayed lift job", async () => {
    const svc = new ReleaseService(rt);
    const r = await svc.publish(sampleRelease({ id: "later", embargoUntil: "2026-11-28T12:00:00Z" }));
    expect(r).toMatchObject({ status: "embargoed", event: "embargoed" });
    expect(await rt.releases.newest("all", 10)).toEqual([]);
    const lift = await rt.queues[QUEUE.releaseEvents].getJob("lift-later-r1");
    expect(lift?.opts.delay).toBe(2 * 3600 * 1000);
    // Too early: nothing happens.
    expect(await svc.liftEmbargo("later", 1)).toBeNull();
    clock.set("2026-11-28T12:00:00Z");
    expect(await svc.liftEmbargo("later", 1)).toMatchObject({ status: "published", event: "published" });
    expect((await rt.releases.newest("all", 10)).map((x) => x.id)).toEqual(["later"]);
    expect(await svc.liftEmbargo("later", 1)).toBeNull();
  });

  it("re-queues events that were stored but never queued", async () => {
    const svc = new ReleaseService(rt);
    const input = sampleRelease({ id: "crash" });
    await svc.publish(input);
    await rt.queues[QUEUE.releaseEvents].obliterate({ force: true });
    // Simulate a crash between store and queue: the outbox still holds the event.
    await rt.redis.zadd(rt.key("outbox"), 1, "crash|1|published");
    await svc.publish(input);
    expect(await jobIds("releaseEvents")).toEqual(["crash-r1-published"]);
  });

  it("links translations", async () => {
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "orig" }));
    await svc.publish(
      sampleRelease({ id: "orig-fr", language: "fr", translationOf: "orig", title: "Formation des agents" }),
    );
    expect((await rt.releases.translations("orig")).map((r) => r.id)).toEqual(["orig-fr"]);
    expect((await rt.releases.newest("languages/fr", 5)).map((r) => r.id)).toEqual(["orig-fr"]);
  });
});

describe("release-events fan-out", () => {
  it("queues feed rebuilds for old and new feeds, one alert and one partner fan-out", async () => {
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "fan", topics: ["health"], regions: ["djibouti"] }));
    await svc.update("fan", sampleRelease({ topics: ["counter-trafficking"], regions: ["djibouti"] }));
    const res = await dispatchReleaseEvent(rt, { releaseId: "fan", revision: 2, event: "updated" });
    expect(res.feeds.sort()).toEqual([
      "all",
      "languages/en",
      "regions/djibouti",
      "topics/counter-trafficking",
      "topics/health",
    ]);
    // Running it twice queues nothing twice.
    await dispatchReleaseEvent(rt, { releaseId: "fan", revision: 2, event: "updated" });
    expect(await jobIds("alerts")).toEqual(["fan-r2-updated"]);
    expect(await jobIds("partners")).toEqual(["fanout-fan-r2-updated"]);
    const feedJobs = await rt.queues[QUEUE.feeds].getJobs(["delayed", "waiting"]);
    expect(feedJobs).toHaveLength(5);
  });

  it("coalesces a burst: many events in one window make one rebuild per feed", async () => {
    const svc = new ReleaseService(rt);
    for (let i = 0; i < 20; i++) {
      const r = await svc.publish(sampleRelease({ id: `burst-${i}`, topics: ["health"], regions: [] }));
      await dispatchReleaseEvent(rt, { releaseId: r.id, revision: 1, event: "published" });
    }
    const feedJobs = await rt.queues[QUEUE.feeds].getJobs(["delayed", "waiting"]);
    expect(feedJobs.map((j) => j.data.feed).sort()).toEqual(["all", "languages/en", "topics/health"]);
  });

  it("an embargoed event reaches partners only", async () => {
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "emb", embargoUntil: "2026-11-29T00:00:00Z" }));
    const res = await dispatchReleaseEvent(rt, { releaseId: "emb", revision: 1, event: "embargoed" });
    expect(res).toEqual({ feeds: [], alerts: false, partners: true });
    expect(await jobIds("alerts")).toEqual([]);
  });

  it("the lift-embargo job publishes through the processor", async () => {
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "lift", embargoUntil: "2026-11-28T10:30:00Z" }));
    clock.set("2026-11-28T10:30:00Z");
    const job = (await rt.queues[QUEUE.releaseEvents].getJob("lift-lift-r1"))!;
    expect(await processReleaseEvent(job, rt)).toBe("published lift r1");
    expect(await jobIds("releaseEvents")).toContain("lift-r1-published");
  });
});
