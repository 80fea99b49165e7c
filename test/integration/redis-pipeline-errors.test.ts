// A command that fails inside a pipeline must fail the caller. Before execOrThrow, a failed
// HGETALL in PartnerStore.list() read as "no such partner", so a fan-out that hit a Redis error
// (LOADING after a restart, a reset connection) completed having queued nothing: the partner
// never got the event. Here the error is made deterministic with a key of the wrong type.
import { afterEach, describe, expect, it } from "vitest";
import { Ledger } from "../../src/mail/ledger.ts";
import { queuePartnerDeliveries } from "../../src/partners/fanout.ts";
import { addPartner, partnerStore } from "../../src/partners/service.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime | undefined;
afterEach(async () => {
  await rt?.destroy();
  rt = undefined;
});

describe("pipeline errors", () => {
  it("a partner read that fails makes the fan-out fail (and retry), not skip the partner", async () => {
    rt = await testRuntime({ label: "pipe" });
    const good = await addPartner(rt, { name: "Good", url: "http://127.0.0.1:9/a", allowPrivate: true });
    const broken = await addPartner(rt, { name: "Broken", url: "http://127.0.0.1:9/b", allowPrivate: true });
    await new ReleaseService(rt).publish(sampleRelease({ id: "pipe-1", publishedAt: undefined }));
    const key = rt.key("partners", "p", broken.partner.id);
    await rt.redis.del(key);
    await rt.redis.set(key, "not a hash");
    await expect(partnerStore(rt).list()).rejects.toThrow(/WRONGTYPE/);
    await expect(queuePartnerDeliveries(rt, { releaseId: "pipe-1", revision: 1, event: "published" })).rejects.toThrow(
      /WRONGTYPE/,
    );
    expect(good.partner.status).toBe("active");
  });

  it("a failed story claim fails the alert batch (retry), not skip every reader as claimed elsewhere", async () => {
    rt = await testRuntime({ label: "pipe" });
    const ledger = new Ledger(rt.redis, rt.config.prefix);
    await rt.redis.set(rt.key("story", "s1"), "not a hash");
    await expect(ledger.claimStory("s1", "alert-s1-r1", ["a", "b"])).rejects.toThrow(/WRONGTYPE/);
  });
});
