// Feeds keep answering while the API takes a burst of publishes and the workers rebuild the
// feeds underneath: 500 releases over real HTTP, 10 at a time, while readers poll the Atom feed
// (some with If-None-Match). Every GET answers 200 or 304; at the end the feed shows the newest.
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { buildFeed } from "../../src/feeds/build.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { auth, testApp } from "../helpers/http.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

const PUBLISHES = 500;

let rt: TestRuntime | undefined;
let app: FastifyInstance | undefined;
let workers: Workers | undefined;

afterEach(async () => {
  await app?.close();
  await workers?.close(true);
  await rt?.destroy();
  rt = app = workers = undefined;
});

describe("load", { timeout: 90_000 }, () => {
  it("the Atom feed answers 200/304 to every GET during a burst of 500 publishes", async () => {
    rt = await testRuntime({ label: "load" });
    app = await testApp(rt);
    await app.listen({ host: "127.0.0.1", port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    workers = startWorkers(rt, [QUEUE.releaseEvents, QUEUE.feeds]);
    await new ReleaseService(rt).publish(sampleRelease({ id: "load-first", publishedAt: "2026-11-01T00:00:00Z" }));
    await buildFeed(rt, "all");

    let publishing = true;
    const statuses = new Map<number, number>();
    const errors: string[] = [];
    let etag = "";
    const reader = async () => {
      while (publishing) {
        try {
          const res = await fetch(`${base}/feeds/atom.xml`, {
            headers: etag && Math.random() < 0.5 ? { "if-none-match": etag } : {},
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 200) {
            etag = res.headers.get("etag") ?? etag;
            const body = await res.text();
            if (!body.includes("</feed>")) errors.push("truncated feed body");
          } else await res.arrayBuffer();
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    };
    const publisher = async (worker: number) => {
      for (let i = worker; i < PUBLISHES; i += 10) {
        const minute = String(i % 60).padStart(2, "0");
        const hour = String(Math.floor(i / 60)).padStart(2, "0");
        const res = await fetch(`${base}/api/releases`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify(sampleRelease({ id: `load-${i}`, publishedAt: `2026-11-20T${hour}:${minute}:00Z` })),
        });
        if (res.status !== 202) errors.push(`publish ${i}: ${res.status} ${await res.text()}`);
        else await res.arrayBuffer();
      }
    };
    const readers = [reader(), reader(), reader()];
    await Promise.all(Array.from({ length: 10 }, (_, w) => publisher(w)));
    // The newest release reaches the feed while readers keep polling.
    await eventually(
      async () => (await (await fetch(`${base}/feeds/atom.xml`)).text()).includes("/releases/load-499"),
      30_000,
      "the newest release in the feed",
    );
    publishing = false;
    await Promise.all(readers);

    console.info(`load: ${PUBLISHES} publishes; feed GETs by status ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(errors).toEqual([]);
    expect([...statuses.keys()].every((s) => s === 200 || s === 304)).toBe(true);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(await rt.releases.count()).toBe(PUBLISHES + 1);
  });
});
