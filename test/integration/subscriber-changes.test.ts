// What each write path may change: partial updates (CLI, API, CSV) change only the fields they
// name; `-` (or null in JSON) clears one; suppression is kept by every path except the reader's
// own re-subscribe; pending readers expire with their keys; old counter hashes are recounted.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import type { Job } from "bullmq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.ts";
import { buildApp } from "../../src/http/app.ts";
import { processDigest } from "../../src/mail/digests.ts";
import type { Subscriber } from "../../src/subscribers/model.ts";
import { SubscriberService } from "../../src/subscribers/service.ts";
import { subscriberId } from "../../src/subscribers/store.ts";
import { runCli } from "../helpers/cli.ts";
import { auth, TEST_TOKEN } from "../helpers/http.ts";
import { redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { auditSubscribers } from "../helpers/subscriber-audit.ts";

const SECRET = "changes-secret-key-0123456789abcdef0123456789";
const DAY = 86_400_000;
const dir = mkdtempSync(path.join(tmpdir(), "herald-sub-changes-"));
const clock = fixedClock("2026-11-01T09:00:00Z");

let rt: TestRuntime;
let svc: SubscriberService;
let env: Record<string, string>;
beforeEach(async () => {
  clock.set("2026-11-01T09:00:00Z");
  rt = await testRuntime({ label: "subchg", clock, config: { secretKey: SECRET } });
  svc = new SubscriberService(rt);
  env = { REDIS_URL: redisUrl(), HERALD_PREFIX: rt.config.prefix, SECRET_KEY: SECRET, VAR_DIR: dir };
});
afterEach(() => rt.destroy());

const FULL = {
  email: "ana@example.org",
  name: "Ana",
  language: "es",
  frequency: "weekly",
  topics: ["health"],
  regions: ["peru"],
  timezone: "America/Lima",
};
const get = async (email = "ana@example.org") => (await svc.store.byEmail(email))!;
const prefsOf = (s: Subscriber) => ({
  name: s.name,
  language: s.language,
  frequency: s.frequency,
  topics: s.topics,
  regions: s.regions,
  timezone: s.timezone,
  status: s.status,
});

describe("partial updates", { timeout: 90_000 }, () => {
  it("`subscribers add` with one flag changes that field only; `-` clears one", async () => {
    await svc.upsert(FULL, { confirmed: true });
    const before = prefsOf(await get());
    const r = await runCli(["subscribers", "add", "ana@example.org", "--name", "Ana María"], env);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toBe("updated ana@example.org (confirmed, weekly, es, America/Lima)\n");
    expect(prefsOf(await get())).toEqual({ ...before, name: "Ana María" });

    const r2 = await runCli(["subscribers", "add", "ana@example.org", "--topics", "-", "--timezone", "-"], env);
    expect(r2.code).toBe(0);
    expect(prefsOf(await get())).toEqual({ ...before, name: "Ana María", topics: [], timezone: "UTC" });
    const r3 = await runCli(["subscribers", "add", "ana@example.org", "--name", "-"], env);
    expect(r3.code).toBe(0);
    expect((await get()).name).toBeUndefined();
    // A bad value is refused and changes nothing.
    const bad = await runCli(["subscribers", "add", "ana@example.org", "--language", "de"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/language: one of en, fr, es/);
    expect((await get()).language).toBe("es");
  });

  it("POST /api/subscribers changes only the fields it names; null or - clears", async () => {
    const app: FastifyInstance = await buildApp(rt, { apiToken: TEST_TOKEN, secretKey: SECRET });
    try {
      const post = (body: unknown) =>
        app.inject({
          method: "POST",
          url: "/api/subscribers",
          headers: { ...auth, "content-type": "application/json" },
          payload: JSON.stringify(body),
        });
      expect((await post({ ...FULL, confirmed: true })).statusCode).toBe(201);
      const before = prefsOf(await get());
      const res = await post({ email: "ANA@Example.org".replace("ANA", "ana"), frequency: "daily" });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: "confirmed", frequency: "daily", language: "es" });
      expect(prefsOf(await get())).toEqual({ ...before, frequency: "daily" });
      // The confirmed reader moved between the digest indexes.
      expect(await rt.redis.sismember(`${rt.config.prefix}:subs:daily`, subscriberId("ana@example.org"))).toBe(1);
      expect(await rt.redis.sismember(`${rt.config.prefix}:subs:weekly`, subscriberId("ana@example.org"))).toBe(0);

      expect((await post({ email: "ana@example.org", name: null, regions: "-", topics: [] })).statusCode).toBe(200);
      expect(prefsOf(await get())).toEqual({ ...before, frequency: "daily", name: undefined, regions: [], topics: [] });

      const bad = await post({ email: "ana@example.org", frequency: "hourly", language: "de" });
      expect(bad.statusCode).toBe(400);
      expect(
        bad
          .json()
          .issues.map((i: { path: string }) => i.path)
          .sort(),
      ).toEqual(["frequency", "language"]);
      expect((await get()).frequency).toBe("daily");
      // A new address takes the defaults for what it does not name.
      expect((await post({ email: "new@example.org", language: "fr" })).statusCode).toBe(201);
      expect(prefsOf(await get("new@example.org"))).toEqual({
        name: undefined,
        language: "fr",
        frequency: "daily",
        topics: [],
        regions: [],
        timezone: "UTC",
        status: "pending",
      });
    } finally {
      await app.close();
    }
  });

  it("a CSV import leaves a field with an empty cell as it is; - clears it", async () => {
    await svc.upsert(FULL, { confirmed: true });
    await svc.upsert(
      { email: "bo@example.org", name: "Bo", topics: ["health"], frequency: "immediate" },
      { confirmed: true },
    );
    const file = path.join(dir, `partial-${rt.config.prefix}.csv`);
    writeFileSync(
      file,
      [
        "email,name,language,frequency,topics,regions,timezone",
        "ana@example.org,,,daily,,,",
        "bo@example.org,-,fr,,-,,Asia/Tokyo",
      ].join("\n"),
    );
    const r = await runCli(["subscribers", "import", file], env);
    expect([r.code, r.stdout]).toEqual([0, "imported 2 row(s): 0 new, 2 updated; 0 bad row(s) skipped\n"]);
    expect(prefsOf(await get())).toEqual({
      ...prefsOf({ ...FULL, status: "confirmed" } as Subscriber),
      frequency: "daily",
    });
    expect(prefsOf(await get("bo@example.org"))).toEqual({
      name: undefined,
      language: "fr",
      frequency: "immediate",
      topics: [],
      regions: [],
      timezone: "Asia/Tokyo",
      status: "confirmed",
    });
  });
});

describe("preferences", () => {
  it("a preference save keeps what it does not send, except the name box (empty clears the name)", async () => {
    await svc.upsert(FULL, { confirmed: true });
    const id = subscriberId("ana@example.org");
    await svc.updatePreferences(id, { name: "Ana", frequency: "daily" });
    expect(prefsOf(await get())).toEqual({
      ...prefsOf({ ...FULL, status: "confirmed" } as Subscriber),
      frequency: "daily",
    });
    await svc.updatePreferences(id, { topics: [], language: "fr" });
    expect(prefsOf(await get())).toEqual({
      ...prefsOf({ ...FULL, status: "confirmed" } as Subscriber),
      name: undefined,
      frequency: "daily",
      topics: [],
      language: "fr",
    });
    await expect(svc.updatePreferences(id, { frequency: "hourly" })).rejects.toThrow(
      /frequency: one of immediate, daily, weekly/,
    );
    expect((await get()).frequency).toBe("daily");
  });
});

describe("suppression wins", () => {
  it("no add, import, preference save or confirm brings back an unsubscribed or suppressed reader", async () => {
    for (const e of ["u@example.org", "b@example.org", "c@example.org"])
      await svc.upsert({ email: e }, { confirmed: true });
    await svc.unsubscribe(subscriberId("u@example.org"));
    await svc.suppress(subscriberId("b@example.org"), "bounced", "550 no such user");
    await svc.suppress(subscriberId("c@example.org"), "complained", "abuse report");
    const patches = ["u@example.org", "b@example.org", "c@example.org"].map((email) => ({
      email,
      frequency: "weekly" as const,
    }));
    await svc.upsertMany(patches, { confirmed: true });
    for (const p of patches) await svc.upsert(p, { confirmed: true });
    for (const p of patches) await svc.updatePreferences(subscriberId(p.email), { frequency: "immediate" });
    for (const p of patches) await svc.confirm(subscriberId(p.email));
    await svc.subscribe({ email: "b@example.org" });
    await svc.subscribe({ email: "c@example.org" });
    expect((await get("u@example.org")).status).toBe("unsubscribed");
    expect((await get("b@example.org")).status).toBe("bounced");
    expect((await get("c@example.org")).status).toBe("complained");
    expect((await get("b@example.org")).suppressedReason).toBe("550 no such user");
    expect(await auditSubscribers(rt).then((a) => a.mismatches)).toEqual([]);
  });

  it("only the reader's own re-subscribe (then the confirm link) brings an unsubscribed reader back", async () => {
    await svc.upsert({ email: "r@example.org" }, { confirmed: false });
    const id = subscriberId("r@example.org");
    await svc.unsubscribe(id);
    expect((await svc.confirm(id)).subscriber.status).toBe("unsubscribed"); // an old confirm link
    await svc.subscribe({ email: "r@example.org", frequency: "weekly" });
    expect((await get("r@example.org")).status).toBe("pending");
    expect((await svc.confirm(id)).subscriber.status).toBe("confirmed");
    const audit = await auditSubscribers(rt);
    expect(audit.mismatches).toEqual([]);
    expect(audit.counted).toEqual({ confirmed: 1 });
  });

  it("a confirm and an unsubscribe at once leave the reader unsubscribed and out of every digest index", async () => {
    for (let round = 0; round < 20; round++) {
      const email = `pair${round}@example.org`;
      await svc.upsert({ email, frequency: "daily" }, { confirmed: false });
      const id = subscriberId(email);
      await Promise.all([
        svc.confirm(id),
        svc.unsubscribe(id),
        svc.confirm(id),
        svc.updatePreferences(id, { frequency: "weekly" }),
      ]);
      expect((await get(email)).status).toBe("unsubscribed");
    }
    const audit = await auditSubscribers(rt);
    expect(audit.mismatches).toEqual([]);
    expect(audit.counted).toEqual({ unsubscribed: 20 });
  });
});

describe("pending expiry", () => {
  it("erases readers pending for PENDING_EXPIRY_DAYS with their keys and index entries; counts stay exact", async () => {
    await svc.upsert({ email: "old@example.org" }, { confirmed: false }); // pending, confirmation throttle key set
    await svc.upsert({ email: "kept@example.org", frequency: "weekly" }, { confirmed: true });
    await svc.upsert({ email: "confirmed-later@example.org" }, { confirmed: false });
    clock.advance(2 * DAY);
    await svc.confirm(subscriberId("confirmed-later@example.org"));
    clock.advance(3 * DAY);
    await svc.upsert({ email: "young@example.org" }, { confirmed: false });
    await svc.subscribe({ email: "renewed@example.org" });
    clock.advance(1 * DAY);
    await svc.subscribe({ email: "renewed@example.org" }); // asked again: the week starts over
    expect(await svc.store.countByStatus()).toEqual({ pending: 3, confirmed: 2 });

    clock.set(Date.parse("2026-11-08T09:00:00Z") - 1);
    expect(await svc.expirePending()).toBe(0); // not quite 7 days yet
    clock.advance(1);
    const job = { name: "expire-pending", data: {} } as Job;
    expect(await processDigest(job, rt)).toEqual({ expired: 1 });
    expect(await get("old@example.org")).toBeNull();
    const oldId = subscriberId("old@example.org");
    expect(await rt.redis.exists(`${rt.config.prefix}:confirm-sent:${oldId}`, `${rt.config.prefix}:sub:${oldId}`)).toBe(
      0,
    );
    expect(await rt.redis.zscore(`${rt.config.prefix}:subs`, oldId)).toBeNull();
    expect(await svc.store.countByStatus()).toEqual({ pending: 2, confirmed: 2 });

    clock.advance(5 * DAY);
    expect(await svc.expirePending()).toBe(1); // young: day 5 + 7; renewed (day 6) still has a day
    clock.advance(1 * DAY);
    expect(await svc.expirePending()).toBe(1);
    const audit = await auditSubscribers(rt);
    expect(audit.mismatches).toEqual([]);
    expect(audit.records.map((s) => s.email).sort()).toEqual(["confirmed-later@example.org", "kept@example.org"]);
    expect(audit.counted).toEqual({ confirmed: 2 });
  });

  it("a confirm racing the sweep either keeps the reader confirmed or finds them gone, never half", async () => {
    const emails = Array.from({ length: 60 }, (_, i) => `sweep${i}@example.org`);
    await svc.upsertMany(
      emails.map((email) => ({ email })),
      { confirmed: false },
    );
    clock.advance(8 * DAY);
    const confirms = emails.map((e) =>
      svc.confirm(subscriberId(e)).then(
        (r) => r.subscriber.status,
        (err: Error) => err.message,
      ),
    );
    const [erased, ...answers] = await Promise.all([svc.expirePending(10), ...confirms]);
    const audit = await auditSubscribers(rt);
    expect(audit.mismatches).toEqual([]);
    expect(answers.filter((a) => a === "confirmed").length + erased).toBe(emails.length);
    expect(audit.counted).toEqual(answers.some((a) => a === "confirmed") ? { confirmed: emails.length - erased } : {});
  });
});

describe("counts from before the status sets", () => {
  it("a drifted by-status hash is replaced by a recount of the records", async () => {
    const p = rt.config.prefix;
    const legacy = (email: string, status: Subscriber["status"]): Subscriber => ({
      id: subscriberId(email),
      email,
      language: "en",
      topics: [],
      regions: [],
      frequency: "daily",
      timezone: "UTC",
      status,
      createdAt: "2026-10-01T00:00:00.000Z",
      updatedAt: "2026-10-01T00:00:00.000Z",
    });
    const records = [
      legacy("a@example.org", "confirmed"),
      legacy("b@example.org", "unsubscribed"),
      legacy("c@example.org", "pending"),
      legacy("d@example.org", "confirmed"),
    ];
    for (const s of records) {
      await rt.redis.set(`${p}:sub:${s.id}`, JSON.stringify(s)); // no revision: written by the old store
      await rt.redis.zadd(`${p}:subs`, Date.parse(s.createdAt), s.id);
      if (s.status === "confirmed") await rt.redis.sadd(`${p}:subs:daily`, s.id);
      if (s.status === "confirmed") await rt.redis.sadd(`${p}:subs:daily:tzs`, "UTC");
      if (s.status === "confirmed") await rt.redis.sadd(`${p}:subs:daily:tz:UTC`, s.id);
    }
    await rt.redis.hset(`${p}:subs:by-status`, { confirmed: 14, pending: -3, unsubscribed: 61 });
    expect(await svc.store.countByStatus()).toEqual({ confirmed: 2, pending: 1, unsubscribed: 1 });
    expect(await rt.redis.exists(`${p}:subs:by-status`)).toBe(0);
    // Old records without a revision take part in the compare-and-set like any other.
    await Promise.all([
      svc.unsubscribe(subscriberId("a@example.org")),
      svc.updatePreferences(subscriberId("a@example.org"), { frequency: "weekly" }),
    ]);
    expect((await get("a@example.org")).status).toBe("unsubscribed");
    const audit = await auditSubscribers(rt);
    expect(audit.mismatches).toEqual([]);
    expect(audit.counted).toEqual({ confirmed: 1, pending: 1, unsubscribed: 2 });
  });

  it("counts that do not add up to the records are recounted, without a legacy hash too", async () => {
    const p = rt.config.prefix;
    for (const e of ["a@example.org", "b@example.org", "c@example.org"])
      await svc.upsert({ email: e }, { confirmed: true });
    await rt.redis.zrem(`${p}:subs:status:confirmed`, subscriberId("a@example.org")); // lost entry
    await rt.redis.zadd(`${p}:subs:status:pending`, 1, "s-no-such-record"); // stray entry
    await rt.redis.zadd(`${p}:subs:status:unsubscribed`, 1, subscriberId("b@example.org")); // wrong status
    expect(await svc.store.countByStatus()).toEqual({ confirmed: 3 });
    const audit = await auditSubscribers(rt);
    expect(audit.mismatches).toEqual([]);
  });
});
