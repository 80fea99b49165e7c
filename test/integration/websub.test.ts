// WebSub pings against a real local HTTP server acting as the hub.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildFeed } from "../../src/feeds/build.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

interface Ping {
  path: string;
  contentType: string;
  form: URLSearchParams;
}

let hub: http.Server;
let hubUrl: string;
let pings: Ping[];
/** Status the hub answers, per request number (1-based); 204 otherwise. */
let answers: Map<number, number>;
let rt: TestRuntime | undefined;
let workers: Workers | undefined;

beforeEach(async () => {
  pings = [];
  answers = new Map();
  hub = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      pings.push({
        path: req.url ?? "",
        contentType: req.headers["content-type"] ?? "",
        form: new URLSearchParams(body),
      });
      res.statusCode = answers.get(pings.length) ?? 204;
      res.end();
    });
  });
  await new Promise<void>((r) => hub.listen(0, "127.0.0.1", r));
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}/hub`;
});
afterEach(async () => {
  await workers?.close();
  workers = undefined;
  await rt?.destroy();
  rt = undefined;
  await new Promise((r) => hub.close(r));
});

const PUBLIC = "https://news.example.org";

describe("WebSub", () => {
  it("after a rebuild that changed a feed, the hub hears hub.mode=publish for each of its URLs", async () => {
    rt = await testRuntime({ label: "websub", config: { publicUrl: PUBLIC, websubHub: hubUrl } });
    workers = startWorkers(rt, ["release-events", "feeds", "websub"]);
    await new ReleaseService(rt).publish(sampleRelease({ id: "ping", topics: ["health"], regions: [] }));
    const expected = ["all", "topics/health", "languages/en"].flatMap((k) => {
      const dir = k === "all" ? "/feeds/" : `/feeds/${k}/`;
      return ["rss.xml", "atom.xml", "feed.json"].map((f) => `${PUBLIC}${dir}${f}`);
    });
    await eventually(() => pings.length >= expected.length, 10_000, "hub pings");
    expect(pings.every((p) => p.path === "/hub" && p.contentType === "application/x-www-form-urlencoded")).toBe(true);
    expect(pings.every((p) => p.form.get("hub.mode") === "publish")).toBe(true);
    expect(pings.map((p) => p.form.get("hub.url")).sort()).toEqual(expected.sort());
    // The feed itself names the hub.
    const atom = (await rt.redis.hget(rt.key("feed", "all", "atom"), "body")) ?? "";
    expect(atom).toContain(`<link rel="hub" href="${hubUrl}"/>`);
  });

  it("a build that changes nothing pings nobody", async () => {
    rt = await testRuntime({ label: "websub0", config: { publicUrl: PUBLIC, websubHub: hubUrl } });
    await new ReleaseService(rt).publish(sampleRelease({ id: "quiet" }));
    await buildFeed(rt, "all");
    workers = startWorkers(rt, ["feeds"]);
    await rt.queues[QUEUE.feeds].add("rebuild", { feed: "all" }, { jobId: "manual-1" });
    await eventually(async () => (await rt!.queues[QUEUE.feeds].getJob("manual-1"))?.finishedOn, 10_000, "rebuild");
    expect(await rt.queues[QUEUE.websub].count()).toBe(0);
  });

  it("a failing hub is retried until it accepts", async () => {
    rt = await testRuntime({ label: "websub1", config: { websubHub: hubUrl } });
    answers.set(1, 503).set(2, 500);
    workers = startWorkers(rt, ["websub"]);
    // The queue's own backoff is seconds long; this job keeps the attempts but shortens the wait.
    await rt.queues[QUEUE.websub].add(
      "ping",
      { urls: ["http://localhost:3000/feeds/atom.xml"] },
      { jobId: "retry", attempts: 4, backoff: { type: "fixed", delay: 20 } },
    );
    const job = await eventually(async () => {
      const j = await rt!.queues[QUEUE.websub].getJob("retry");
      return j?.finishedOn ? j : null;
    });
    expect(await job!.getState()).toBe("completed");
    expect(job!.attemptsMade).toBe(3);
    expect(pings).toHaveLength(3);
  });

  it("a hub that refuses the request (400) fails the job without retrying", async () => {
    rt = await testRuntime({ label: "websub2", config: { websubHub: hubUrl } });
    answers.set(1, 400);
    workers = startWorkers(rt, ["websub"]);
    await rt.queues[QUEUE.websub].add(
      "ping",
      { urls: ["http://localhost:3000/feeds/rss.xml"] },
      { jobId: "refused", attempts: 4, backoff: { type: "fixed", delay: 20 } },
    );
    const job = await eventually(async () => {
      const j = await rt!.queues[QUEUE.websub].getJob("refused");
      return j?.finishedOn ? j : null;
    });
    expect(await job!.getState()).toBe("failed");
    expect(job!.failedReason).toMatch(/answered 400.*check WEBSUB_HUB/);
    expect(pings).toHaveLength(1);
  });

  it("the ping jobs use the websub queue's retry defaults", async () => {
    rt = await testRuntime({ label: "websub3", config: { publicUrl: PUBLIC, websubHub: hubUrl } });
    await new ReleaseService(rt).publish(sampleRelease({ id: "opts", topics: [], regions: [] }));
    workers = startWorkers(rt, ["feeds"]);
    await rt.queues[QUEUE.feeds].add("rebuild", { feed: "all" }, { jobId: "opts-1" });
    const ping = await eventually(async () => (await rt!.queues[QUEUE.websub].getJobs(["waiting"]))[0]);
    expect(ping!.opts.attempts).toBe(6);
    expect(ping!.data.urls).toEqual([
      `${PUBLIC}/feeds/rss.xml`,
      `${PUBLIC}/feeds/atom.xml`,
      `${PUBLIC}/feeds/feed.json`,
    ]);
  });
});
