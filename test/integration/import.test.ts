import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { readSubscriberCsv } from "../../src/subscribers/csv.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime;
beforeEach(async () => {
  rt = await testRuntime({ label: "import" });
});
afterEach(() => rt.destroy());

const csv = (tz: string) =>
  `email,name,language,frequency,topics,regions,timezone\nana@example.org,Ana,es,daily,health,,${tz}\nbo@example.org,Bo,fr,weekly,,chad,UTC\n`;

describe("CSV import", () => {
  it("is idempotent: re-import updates and never duplicates, and keeps unsubscribes", async () => {
    const svc = new SubscriberService(rt);
    expect(
      await svc.upsertMany(
        readSubscriberCsv(csv("America/Lima")).rows.map((r) => r.input),
        { confirmed: true },
      ),
    ).toEqual({ created: 2, updated: 0 });
    const bo = (await svc.store.byEmail("bo@example.org"))!;
    await svc.unsubscribe(bo.id);
    expect(
      await svc.upsertMany(
        readSubscriberCsv(csv("Asia/Tokyo")).rows.map((r) => r.input),
        { confirmed: true },
      ),
    ).toEqual({ created: 0, updated: 2 });
    expect(await svc.store.count()).toBe(2);
    expect(await svc.store.byEmail("ana@example.org")).toMatchObject({ status: "confirmed", timezone: "Asia/Tokyo" });
    expect((await svc.store.byEmail("bo@example.org"))?.status).toBe("unsubscribed");
    // The digest index follows the time zone move.
    expect(await rt.redis.smembers(rt.key("subs", "daily", "tz", "America/Lima"))).toEqual([]);
    expect(await rt.redis.smembers(rt.key("subs", "daily", "tz", "Asia/Tokyo"))).toHaveLength(1);
    expect(await rt.redis.smembers(rt.key("subs", "weekly"))).toEqual([]);
  });

  it("--pending sends a confirmation to new addresses instead", async () => {
    const svc = new SubscriberService(rt);
    await svc.upsertMany(
      readSubscriberCsv(csv("UTC")).rows.map((r) => r.input),
      { confirmed: false },
    );
    expect((await svc.store.byEmail("ana@example.org"))?.status).toBe("pending");
    expect(await rt.queues[QUEUE.emails].count()).toBe(2);
  });
});
