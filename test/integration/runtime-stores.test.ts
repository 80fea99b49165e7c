// Stores are built once per runtime, and functions take the part of the runtime they use
// (docs/architecture.md, "The runtime"). Every caller of one runtime reaches the same store
// object; another runtime (another prefix) has its own; a narrowed function runs on just the
// fields it declares.
import { afterEach, describe, expect, it } from "vitest";
import { enqueueRebuildAll } from "../../src/feeds/feed-rebuild.ts";
import { feedCache } from "../../src/feeds/build.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { ledgerOf } from "../../src/mail/ledger.ts";
import { addPartner, listPartners, partnerStore } from "../../src/partners/service.ts";
import { oncePerRuntime } from "../../src/runtime.ts";
import { SubscriberService, subscriberStore } from "../../src/subscribers/service.ts";
import { type TestRuntime, testRuntime } from "../helpers/runtime.ts";

const runtimes: TestRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.destroy()));
});

async function runtime(): Promise<TestRuntime> {
  const rt = await testRuntime({ label: "once" });
  runtimes.push(rt);
  return rt;
}

describe("oncePerRuntime", () => {
  it("builds once per runtime object and again for another, even when it builds nothing", () => {
    let builds = 0;
    const get = oncePerRuntime((_rt: object) => {
      builds++;
      return undefined;
    });
    const a = {};
    const b = {};
    get(a);
    get(a);
    get(b);
    get(b);
    expect(builds).toBe(2);
  });
});

describe("stores built once", () => {
  it("every caller of one runtime gets the same store; another runtime gets its own, on its own prefix", async () => {
    const a = await runtime();
    const b = await runtime();
    expect(subscriberStore(a)).toBe(a.subscribers);
    expect(new SubscriberService(a).store).toBe(a.subscribers);
    expect(partnerStore(a)).toBe(partnerStore(a));
    expect(feedCache(a)).toBe(feedCache(a));
    expect(b.subscribers).not.toBe(a.subscribers);
    expect(partnerStore(b)).not.toBe(partnerStore(a));
    expect(feedCache(b)).not.toBe(feedCache(a));
    expect(ledgerOf(a)).toBe(ledgerOf(a));
    expect(ledgerOf(b)).not.toBe(ledgerOf(a));

    await ledgerOf(a).planned("ed-1", "seg", 3);
    expect((await ledgerOf(a).progress("ed-1")).total).toBe(3);
    expect((await ledgerOf(b).progress("ed-1")).total).toBe(0);
    await addPartner(a, { name: "Only A", url: "http://127.0.0.1:9/hook", allowPrivate: true });
    expect((await listPartners(a)).map((p) => p.partner.name)).toEqual(["Only A"]);
    expect(await listPartners(b)).toEqual([]);
  });

  it("a narrowed function runs on just the fields it declares", async () => {
    const a = await runtime();
    const id = await enqueueRebuildAll({ clock: { now: () => 1_000 }, queues: a.queues });
    expect(id).toBe("rebuild-all-1000");
    expect((await a.queues[QUEUE.feeds].getJob(id))?.name).toBe("rebuild-all");
    // The ledger of just the runtime's connection, prefix and shards reads the runtime's ledger data.
    await ledgerOf(a).planned("ed-2", "seg", 2);
    const ledger = ledgerOf({ redis: a.redis, config: a.config, shards: a.shards });
    expect(ledger).not.toBe(ledgerOf(a));
    expect((await ledger.progress("ed-2")).total).toBe(2);
  });
});
