// The whole path with real workers: publish (service or API) -> release-events -> feeds
// rebuild -> HTTP. Waits with eventually() until a feed shows the change.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.ts";
import { feedCache } from "../../src/feeds/build.ts";
import { enqueueRebuildAll } from "../../src/feeds/feed-rebuild.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { dispatchReleaseEvent } from "../../src/jobs/release-events.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { parseWithFxp, parseWithRssParser, text } from "../helpers/feeds.ts";
import { auth, testApp } from "../helpers/http.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime;
let app: FastifyInstance;
let workers: Workers | undefined;
let svc: ReleaseService;
const PUBLIC = "https://news.example.org";

beforeEach(async () => {
  rt = await testRuntime({ label: "feedwk", config: { publicUrl: PUBLIC } });
  app = await testApp(rt);
  svc = new ReleaseService(rt);
});
afterEach(async () => {
  await workers?.close();
  workers = undefined;
  await app.close();
  await rt.destroy();
});

const idOf = (id: string) => `${PUBLIC}/releases/${id}`;

/** Ids in a feed (Atom via rss-parser), or null while it is not served. */
async function atomIds(path: string): Promise<string[] | null> {
  const res = await app.inject(`${path}atom.xml`);
  if (res.statusCode !== 200) return null;
  return (await parseWithRssParser(res.body)).items.map((i) => i.id!);
}

async function waitFor(path: string, check: (ids: string[]) => boolean, what: string): Promise<string[]> {
  return eventually<string[] | null>(
    async () => {
      const ids = await atomIds(path);
      return ids && check(ids) ? ids : null;
    },
    10_000,
    what,
  ) as Promise<string[]>;
}

describe("feeds follow release events", () => {
  it("a publication shows in the global, topic, region and language feeds, in every format", async () => {
    workers = startWorkers(rt, ["release-events", "feeds"]);
    await svc.publish(sampleRelease({ id: "other", topics: ["health"], regions: ["yemen"] }));
    await svc.publish(sampleRelease({ id: "ct", topics: ["counter-trafficking"], regions: ["djibouti"] }));
    for (const dir of [
      "/feeds/",
      "/feeds/topics/counter-trafficking/",
      "/feeds/regions/djibouti/",
      "/feeds/languages/en/",
    ]) {
      await waitFor(dir, (ids) => ids.includes(idOf("ct")), `ct in ${dir}`);
      const rss = await parseWithRssParser((await app.inject(`${dir}rss.xml`)).body);
      expect(rss.items.map((i) => i.guid)).toContain(idOf("ct"));
      const json = (await app.inject(`${dir}feed.json`)).json();
      expect(json.items.map((i: { id: string }) => i.id)).toContain(idOf("ct"));
    }
    expect(await waitFor("/feeds/topics/health/", (ids) => ids.length > 0, "health feed")).toEqual([idOf("other")]);
    expect(await atomIds("/feeds/regions/yemen/")).toEqual([idOf("other")]);
  });

  it("a correction updates the entry in place and moves it between topic feeds", async () => {
    workers = startWorkers(rt, ["release-events", "feeds"]);
    await svc.publish(sampleRelease({ id: "fix", title: "Original title", topics: ["health"] }));
    await waitFor("/feeds/topics/health/", (ids) => ids.includes(idOf("fix")), "fix in health");
    const before = parseWithFxp((await app.inject("/feeds/atom.xml")).body).feed.entry[0];
    const put = await app.inject({
      method: "PUT",
      url: "/api/releases/fix",
      headers: auth,
      payload: {
        ...sampleRelease({ title: "Corrected title", topics: ["migration-data"] }),
        correction: "Corrected the topic",
      },
    });
    expect(put.statusCode).toBe(202);
    await waitFor("/feeds/topics/migration-data/", (ids) => ids.includes(idOf("fix")), "fix in migration-data");
    await waitFor("/feeds/topics/health/", (ids) => ids.length === 0, "health emptied");
    const feed = await eventually(async () => {
      const f = parseWithFxp((await app.inject("/feeds/atom.xml")).body).feed;
      return text(f.entry[0].title) === "Corrected title" ? f : null;
    });
    expect(feed.entry).toHaveLength(1);
    expect(text(feed.entry[0].id)).toBe(text(before.id));
    expect(Date.parse(text(feed.entry[0].updated))).toBeGreaterThan(Date.parse(text(before.updated)));
    expect(text(feed.entry[0].published)).toBe(text(before.published));
    expect(text(feed.entry[0].content)).toContain("Correction: Corrected the topic");
  });

  it("a withdrawal removes the release from every feed", async () => {
    workers = startWorkers(rt, ["release-events", "feeds"]);
    await svc.publish(sampleRelease({ id: "stay", topics: ["health"], regions: ["djibouti"] }));
    await svc.publish(sampleRelease({ id: "gone", topics: ["health"], regions: ["djibouti"] }));
    await waitFor("/feeds/regions/djibouti/", (ids) => ids.length === 2, "both in djibouti");
    const w = await app.inject({ method: "POST", url: "/api/releases/gone/withdraw", headers: auth });
    expect(w.statusCode).toBe(202);
    for (const dir of ["/feeds/", "/feeds/topics/health/", "/feeds/regions/djibouti/", "/feeds/languages/en/"]) {
      expect(await waitFor(dir, (ids) => !ids.includes(idOf("gone")), `gone left ${dir}`)).toEqual([idOf("stay")]);
      expect((await app.inject(`${dir}feed.json`)).body).not.toContain("/releases/gone");
      expect((await app.inject(`${dir}rss.xml`)).body).not.toContain("/releases/gone");
    }
  });

  it("an embargoed release appears only after its embargo lifts", async () => {
    workers = startWorkers(rt, ["release-events", "feeds"]);
    const lift = new Date(Date.now() + 3000).toISOString();
    await svc.publish(sampleRelease({ id: "later", title: "Embargoed news", embargoUntil: lift }));
    await svc.publish(sampleRelease({ id: "now", title: "Public news" }));
    const ids = await waitFor("/feeds/", (x) => x.includes(idOf("now")), "the public release");
    expect(Date.now()).toBeLessThan(Date.parse(lift)); // checked before the lift, or the test proves nothing
    expect(ids).not.toContain(idOf("later"));
    expect((await app.inject("/feeds/feed.json")).body).not.toContain("Embargoed news");
    expect((await app.inject("/releases/later")).statusCode).toBe(404);
    await waitFor("/feeds/", (x) => x.includes(idOf("later")), "the lifted release");
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(lift));
    expect((await app.inject("/releases/later")).statusCode).toBe(200);
  });

  it("a translation appears in its language's feed only", async () => {
    workers = startWorkers(rt, ["release-events", "feeds"]);
    await svc.publish(sampleRelease({ id: "orig", language: "en" }));
    await svc.publish(
      sampleRelease({ id: "orig-ar", language: "ar", translationOf: "orig", title: "تدريب موظفي الحدود" }),
    );
    expect(await waitFor("/feeds/languages/ar/", (ids) => ids.length > 0, "ar feed")).toEqual([idOf("orig-ar")]);
    expect(await waitFor("/feeds/languages/en/", (ids) => ids.length > 0, "en feed")).toEqual([idOf("orig")]);
    const ar = JSON.parse((await app.inject("/feeds/languages/ar/feed.json")).body);
    expect(ar.language).toBe("ar");
    expect(ar.items[0].title).toBe("تدريب موظفي الحدود");
    expect(ar.items[0]._herald.translation_of).toBe("orig");
  });
});

describe("bursts and full rebuilds", () => {
  it("100 publishes within a second make 4 rebuilds per feed, and the feed ends up right", async () => {
    const clock = fixedClock("2026-11-28T10:00:00Z");
    const burst = await testRuntime({ clock, label: "burst" });
    try {
      const bsvc = new ReleaseService(burst);
      for (let i = 0; i < 100; i++) {
        const r = await bsvc.publish(
          sampleRelease({ id: `b-${i}`, topics: ["health"], regions: [], publishedAt: undefined }),
        );
        await dispatchReleaseEvent(burst, { releaseId: r.id, revision: 1, event: "published" });
        clock.advance(10); // 100 events over one simulated second
      }
      // Workers start after the burst so that every event has joined its window first.
      const w = startWorkers(burst, ["feeds"]);
      try {
        const body = await eventually(async () => {
          const e = await feedCache(burst).entry("topics/health", "json");
          const feed = e && JSON.parse(e.body.toString());
          return feed?.items[0]?.id.endsWith("/releases/b-99") ? feed : null;
        });
        expect(body.items).toHaveLength(50);
        await eventually(
          async () => (await burst.queues[QUEUE.feeds].getJobCounts("delayed", "waiting", "active")).delayed === 0,
        );
        const jobs = await burst.queues[QUEUE.feeds].getJobs(["completed", "delayed", "waiting", "active"]);
        const perFeed = new Map<string, number>();
        for (const j of jobs) perFeed.set(j.data.feed, (perFeed.get(j.data.feed) ?? 0) + 1);
        expect(Object.fromEntries(perFeed)).toEqual({ all: 4, "topics/health": 4, "languages/en": 4 });
      } finally {
        await w.close();
      }
    } finally {
      await burst.destroy();
    }
  });

  it("rebuild-all builds every known feed, including ones never built", async () => {
    await svc.publish(sampleRelease({ id: "r1", topics: ["health"], regions: ["yemen"], language: "en" }));
    await svc.publish(sampleRelease({ id: "r2", topics: ["shelter"], regions: [], language: "fr" }));
    expect((await app.inject("/feeds/topics/shelter/atom.xml")).statusCode).toBe(503);
    workers = startWorkers(rt, ["feeds"]);
    const id = await enqueueRebuildAll(rt);
    expect(id).toMatch(/^rebuild-all-\d+$/);
    for (const dir of [
      "/feeds/",
      "/feeds/topics/health/",
      "/feeds/topics/shelter/",
      "/feeds/regions/yemen/",
      "/feeds/languages/en/",
      "/feeds/languages/fr/",
    ]) {
      await waitFor(dir, (ids) => ids.length > 0, dir);
    }
  });

  it("`herald feeds rebuild` queues the job and prints its id", async () => {
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, ["--import", "tsx", "src/main.ts", "feeds", "rebuild"], {
      env: { ...process.env, REDIS_URL: redisUrl(), HERALD_PREFIX: rt.config.prefix, LOG_LEVEL: "silent" },
    });
    const id = /job (rebuild-all-\d+)/.exec(stdout)?.[1];
    expect(id, stdout).toBeTruthy();
    const job = await rt.queues[QUEUE.feeds].getJob(id!);
    expect(job?.name).toBe("rebuild-all");
  });
});
