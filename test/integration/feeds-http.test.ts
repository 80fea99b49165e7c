// Feeds over HTTP, built directly with buildFeed (the worker path is in feeds-worker.test.ts).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.ts";
import { buildFeed, feedCache } from "../../src/feeds/build.ts";
import { FeedMemo } from "../../src/feeds/memo.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { parseWithFxp, parseWithRssParser } from "../helpers/feeds.ts";
import { buildApp } from "../../src/http/app.ts";
import { TEST_TOKEN, testApp } from "../helpers/http.ts";
import { parsePrometheus, sampleValue } from "../helpers/prometheus.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime;
let app: FastifyInstance;
let svc: ReleaseService;
const clock = fixedClock("2026-11-28T10:00:00Z");
beforeEach(async () => {
  clock.set("2026-11-28T10:00:00Z");
  rt = await testRuntime({
    clock,
    label: "feedhttp",
    config: { publicUrl: "https://news.example.org", orgName: "IOM" },
  });
  app = await testApp(rt);
  svc = new ReleaseService(rt);
});
afterEach(async () => {
  await app.close();
  await rt.destroy();
});

const buildAll = async (...keys: string[]) => {
  for (const k of keys) await buildFeed(rt, k);
};

describe("serving built feeds", () => {
  it("serves the three formats with content types, ETag, Last-Modified and Cache-Control", async () => {
    await svc.publish(sampleRelease({ id: "one", topics: ["counter-trafficking"] }));
    await buildAll("all");
    const cases = [
      ["/feeds/rss.xml", "application/rss+xml; charset=utf-8"],
      ["/feeds/atom.xml", "application/atom+xml; charset=utf-8"],
      ["/feeds/feed.json", "application/feed+json; charset=utf-8"],
    ] as const;
    for (const [url, type] of cases) {
      const res = await app.inject(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe(type);
      expect(res.headers.etag).toMatch(/^"[\w-]{27}"$/);
      expect(res.headers["last-modified"]).toBe("Sat, 28 Nov 2026 10:00:00 GMT");
      expect(res.headers["cache-control"]).toBe("public, max-age=60");
      expect(res.body).toContain("https://news.example.org/releases/one");
    }
    const atom = await parseWithRssParser((await app.inject("/feeds/atom.xml")).body);
    expect(atom.items.map((i) => i.id)).toEqual(["https://news.example.org/releases/one"]);
  });

  it("If-None-Match and If-Modified-Since answer 304 with no body; a stale tag gets 200", async () => {
    await svc.publish(sampleRelease({ id: "cond" }));
    await buildAll("all");
    const first = await app.inject("/feeds/atom.xml");
    const etag = first.headers.etag as string;
    const inm = await app.inject({ url: "/feeds/atom.xml", headers: { "if-none-match": etag } });
    expect(inm.statusCode).toBe(304);
    expect(inm.body).toBe("");
    expect(inm.headers.etag).toBe(etag);
    const ims = await app.inject({
      url: "/feeds/atom.xml",
      headers: { "if-modified-since": first.headers["last-modified"] as string },
    });
    expect(ims.statusCode).toBe(304);
    const older = await app.inject({
      url: "/feeds/atom.xml",
      headers: { "if-modified-since": "Sat, 28 Nov 2026 09:59:59 GMT" },
    });
    expect(older.statusCode).toBe(200);
    const stale = await app.inject({ url: "/feeds/atom.xml", headers: { "if-none-match": '"stale"' } });
    expect(stale.statusCode).toBe(200);
    expect(stale.body).toBe(first.body);
  });

  it("HEAD answers the headers of GET without a body", async () => {
    await svc.publish(sampleRelease({ id: "head" }));
    await buildAll("all");
    const get = await app.inject("/feeds/rss.xml");
    const head = await app.inject({ method: "HEAD", url: "/feeds/rss.xml" });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe("");
    expect(head.headers.etag).toBe(get.headers.etag);
    expect(head.headers["content-type"]).toBe("application/rss+xml; charset=utf-8");
    expect(head.headers["content-length"]).toBe(String(Buffer.byteLength(get.body)));
    const cond = await app.inject({
      method: "HEAD",
      url: "/feeds/rss.xml",
      headers: { "if-none-match": get.headers.etag as string },
    });
    expect(cond.statusCode).toBe(304); // HEAD with Accept-Encoding: the headers a compressed GET would get.
    const gzGet = await app.inject({ url: "/feeds/rss.xml", headers: { "accept-encoding": "gzip" } });
    const gzHead = await app.inject({ method: "HEAD", url: "/feeds/rss.xml", headers: { "accept-encoding": "gzip" } });
    expect(gzHead.statusCode).toBe(200);
    expect(gzHead.body).toBe("");
    expect(gzHead.headers["content-encoding"]).toBe("gzip");
    expect(gzHead.headers.etag).toBe(gzGet.headers.etag);
    expect(gzHead.headers["content-length"]).toBe(String(gzGet.rawPayload.length));
  });

  it("a rebuild with nothing new keeps ETag and Last-Modified; a change moves both", async () => {
    await svc.publish(sampleRelease({ id: "same" }));
    await buildAll("all");
    const before = await app.inject("/feeds/atom.xml");
    clock.advance(60_000);
    expect((await buildFeed(rt, "all")).changed).toEqual([]);
    const again = await app.inject("/feeds/atom.xml");
    expect(again.headers.etag).toBe(before.headers.etag);
    expect(again.headers["last-modified"]).toBe(before.headers["last-modified"]);
    await svc.publish(sampleRelease({ id: "newer", publishedAt: "2026-11-28T10:00:30Z" }));
    expect((await buildFeed(rt, "all")).changed.sort()).toEqual(["atom", "json", "rss"]);
    // The web process hears of the change on the feed-changed channel: a moment later.
    const after = (await eventually(async () => {
      const res = await app.inject({
        url: "/feeds/atom.xml",
        headers: { "if-none-match": before.headers.etag as string },
      });
      return res.statusCode === 200 ? res : null;
    }))!;
    expect(after.headers["last-modified"]).toBe("Sat, 28 Nov 2026 10:01:00 GMT");
    expect((await parseWithRssParser(after.body)).items.map((i) => i.id)).toEqual([
      "https://news.example.org/releases/newer",
      "https://news.example.org/releases/same",
    ]);
  });

  it("an older build never overwrites a newer one", async () => {
    await svc.publish(sampleRelease({ id: "race" }));
    const cache = feedCache(rt);
    const older = await cache.nextGeneration("all");
    await buildFeed(rt, "all"); // a later generation writes first
    const etag = (await cache.entry("all", "atom"))!.etag;
    expect(
      await cache.write("all", older, { atom: { body: "stale", etag: '"stale"', lastModified: 1, input: "x" } }),
    ).toBe(false);
    expect((await cache.entry("all", "atom"))!.etag).toBe(etag);
  });

  it("FEED_SIZE bounds the number of items, newest first", async () => {
    await rt.destroy();
    rt = await testRuntime({ clock, label: "feedsize", config: { feedSize: 3 } });
    svc = new ReleaseService(rt);
    for (let i = 0; i < 5; i++)
      await svc.publish(sampleRelease({ id: `n${i}`, publishedAt: `2026-11-2${i}T09:00:00Z` }));
    await buildFeed(rt, "all");
    const body = (await feedCache(rt).entry("all", "json"))!.body.toString();
    expect(JSON.parse(body).items.map((i: { id: string }) => i.id.split("/").pop())).toEqual(["n4", "n3", "n2"]);
  });
});

describe("the in-memory reader", () => {
  it("serves repeat reads from memory and forgets a feed when a build announces a change", async () => {
    await svc.publish(sampleRelease({ id: "memo" }));
    await buildFeed(rt, "all");
    const cache = feedCache(rt);
    const reader = new FeedMemo(cache, rt.clock);
    reader.listen(rt.redisUrl);
    try {
      // Trusted only once subscribed: wait until a read is kept.
      await eventually(async () => {
        await reader.get("all", "atom");
        await rt.redis.rename(cache.entryKey("all", "atom"), `${cache.entryKey("all", "atom")}-moved`);
        const kept = (await reader.get("all", "atom")) !== null;
        await rt.redis.rename(`${cache.entryKey("all", "atom")}-moved`, cache.entryKey("all", "atom"));
        return kept;
      });
      const first = await reader.get("all", "atom");
      await svc.publish(sampleRelease({ id: "memo-2", publishedAt: "2026-11-28T09:59:00Z" }));
      await buildFeed(rt, "all"); // writes and publishes on the feed-changed channel
      const fresh = (await eventually(async () => {
        const e = await reader.get("all", "atom");
        return e && e.etag !== first!.etag ? e : null;
      }))!;
      expect(fresh.body.toString()).toContain("/releases/memo-2");
      expect(fresh.etag).toBe((await cache.entry("all", "atom"))!.etag);
    } finally {
      await reader.close();
    }
  });
});

describe("polls answered before routing", () => {
  // Over a real socket: app.inject() goes straight to Fastify, past the server's early step.
  async function listening() {
    const served = await buildApp(rt, { apiToken: TEST_TOKEN });
    const routed: string[] = [];
    served.addHook("onRequest", (req, _reply, done) => {
      routed.push(`${req.method} ${req.url}`);
      done();
    });
    await served.listen({ host: "127.0.0.1", port: 0 });
    // The server in front is built by app.ts, with the timeouts Fastify gives its own.
    expect(served.server.keepAliveTimeout).toBe(72_000);
    const { port } = served.server.address() as AddressInfo;
    return { served, routed, base: `http://127.0.0.1:${port}` };
  }
  const comparable = (res: Response) => {
    const h = Object.fromEntries(res.headers);
    for (const k of ["date", "connection", "keep-alive"]) delete h[k];
    return { status: res.status, headers: h };
  };

  it("a feed held in memory is answered without Fastify, byte for byte as the route answers it", async () => {
    await svc.publish(sampleRelease({ id: "poll", topics: ["health"] }));
    await buildAll("all", "topics/health");
    const { served, routed, base } = await listening();
    try {
      for (const path of ["/feeds/atom.xml", "/feeds/topics/health/rss.xml", "/feeds/feed.json?utm_source=reader"]) {
        // The first read goes to the route (from Redis); once the reader trusts its copy, the next
        // read never reaches Fastify. Trust starts when the change subscription is confirmed.
        const viaRoute = await eventually(
          async () => {
            const before = routed.length;
            const res = await fetch(base + path);
            return routed.length > before ? res : null;
          },
          10_000,
          `a routed read of ${path}`,
        );
        const routeBody = await viaRoute.text();
        const early = await eventually(
          async () => {
            const before = routed.length;
            const res = await fetch(base + path);
            const body = await res.text();
            return routed.length === before ? { res, body } : null;
          },
          10_000,
          `an early answer for ${path}`,
        );
        expect(comparable(early.res), path).toEqual(comparable(viaRoute));
        expect(early.body, path).toBe(routeBody);

        // 304: the early answer carries what the route's 304 carries.
        const etag = viaRoute.headers.get("etag")!;
        const before = routed.length;
        // The answer depends on Accept-Encoding (an ETag per coding): both ask with the same one.
        const encoding = "gzip, deflate, br";
        const notModified = await fetch(base + path, {
          headers: { "if-none-match": etag, "accept-encoding": encoding },
        });
        expect(routed.length, path).toBe(before);
        expect(notModified.status).toBe(304);
        expect(await notModified.text()).toBe("");
        const routed304 = await app.inject({
          url: path,
          headers: { "if-none-match": etag, "accept-encoding": encoding },
        });
        const h = { ...routed304.headers };
        for (const k of ["date", "connection", "keep-alive"]) delete h[k];
        expect(comparable(notModified).headers).toEqual(h);
        const ims = await fetch(base + path, {
          headers: { "if-modified-since": viaRoute.headers.get("last-modified")! },
        });
        expect(ims.status).toBe(304);
      }

      // Anything but a plain GET of a held feed goes on to Fastify, and is still answered right.
      const routedBefore = routed.length;
      const head = await fetch(`${base}/feeds/atom.xml`, { method: "HEAD" });
      expect(head.status).toBe(200);
      const escaped = await fetch(`${base}/feeds/topics/heal%74h/rss.xml`);
      expect(escaped.status).toBe(200);
      expect(await escaped.text()).toContain("/releases/poll");
      expect((await fetch(`${base}/feeds/topics/unknown/atom.xml`)).status).toBe(404);
      expect((await fetch(`${base}/feeds/atom.xml/`)).status).toBe(404);
      expect(routed.slice(routedBefore)).toEqual([
        "HEAD /feeds/atom.xml",
        "GET /feeds/topics/heal%74h/rss.xml",
        "GET /feeds/topics/unknown/atom.xml",
        "GET /feeds/atom.xml/",
      ]);

      // Early answers are timed into the route's own series.
      const samples = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
      expect(
        sampleValue(samples, "herald_http_request_duration_seconds_count", {
          method: "GET",
          route: "/feeds/:file",
          status_code: "304",
        }),
      ).toBeGreaterThanOrEqual(4);
      expect(
        sampleValue(samples, "herald_http_request_duration_seconds_count", {
          method: "GET",
          route: "/feeds/:kind/:value/:file",
          status_code: "200",
        }),
      ).toBeGreaterThanOrEqual(2);
    } finally {
      await served.close();
    }
  });

  it("gzip and brotli: prepared at build time, an ETag and a 304 per coding, Vary, CORS on JSON Feed; early answers equal the route's", async () => {
    await svc.publish(sampleRelease({ id: "zip", topics: ["health"] }));
    await buildAll("all");
    // Stored next to the body by the build: no poll compresses anything.
    const stored = (await feedCache(rt).entry("all", "atom"))!;
    expect(gunzipSync(stored.gzip!).equals(stored.body)).toBe(true);
    expect(brotliDecompressSync(stored.br!).equals(stored.body)).toBe(true);

    const { served, routed, base } = await listening();
    // Raw bytes over a socket: fetch would decode them.
    const raw = (path: string, headers: Record<string, string> = {}, method = "GET") =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const req = http.request(base + path, { method, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on("error", reject);
        req.end();
      });
    const comparableRaw = (r: { status: number; headers: http.IncomingHttpHeaders }) => {
      const h = { ...r.headers };
      for (const k of ["date", "connection", "keep-alive"]) delete h[k];
      return { status: r.status, headers: h };
    };
    try {
      for (const path of ["/feeds/atom.xml", "/feeds/feed.json"]) {
        const plain = await raw(path);
        expect(plain.status).toBe(200);
        expect(plain.headers["content-encoding"]).toBeUndefined();
        expect(plain.headers.vary).toBe("Accept-Encoding");
        expect(plain.headers["cache-control"]).toBe("public, max-age=60");
        const tag = plain.headers.etag!;
        expect(tag).toMatch(/^"[\w-]{27}"$/);
        for (const [accept, coding, decode, suffix] of [
          ["gzip", "gzip", gunzipSync, "-gz"],
          ["gzip, deflate, br", "br", brotliDecompressSync, "-br"],
          ["br;q=0, gzip;q=0.5", "gzip", gunzipSync, "-gz"],
          ["*", "br", brotliDecompressSync, "-br"],
        ] as const) {
          // The first read may be routed (from Redis), later ones answered early: both must agree.
          const answers = [];
          for (let i = 0; i < 3; i++) answers.push(await raw(path, { "accept-encoding": accept }));
          for (const a of answers) expect(comparableRaw(a)).toEqual(comparableRaw(answers[0]!));
          const r = answers[0]!;
          expect(r.status, `${path} ${accept}`).toBe(200);
          expect(r.headers["content-encoding"]).toBe(coding);
          expect(r.headers.etag).toBe(`${tag.slice(0, -1)}${suffix}"`);
          expect(r.headers.vary).toBe("Accept-Encoding");
          expect(Number(r.headers["content-length"])).toBe(r.body.length);
          expect(r.body.length).toBeLessThan(plain.body.length / 2);
          expect(decode(r.body).equals(plain.body)).toBe(true);
          // 304 per coding: the tag of this coding, or of another coding of the same body.
          for (const inm of [r.headers.etag!, tag, `W/${r.headers.etag}`, `"other", ${r.headers.etag}`]) {
            const nm = await raw(path, { "accept-encoding": accept, "if-none-match": inm });
            expect(nm.status, inm).toBe(304);
            expect(nm.body.length).toBe(0);
            expect(nm.headers.etag).toBe(r.headers.etag);
            expect(nm.headers.vary).toBe("Accept-Encoding");
          }
          expect(
            (await raw(path, { "accept-encoding": accept, "if-none-match": `${tag.slice(0, -1)}-zz"` })).status,
          ).toBe(200);
        }
        expect(
          (await raw(path, { "accept-encoding": "gzip;q=0, br;q=0" })).headers["content-encoding"],
        ).toBeUndefined();
        expect((await raw(path, { "accept-encoding": "identity" })).headers["content-encoding"]).toBeUndefined();
        // The route (inject: never answered early) gives the same headers and bytes.
        const viaRoute = await app.inject({ url: path, headers: { "accept-encoding": "gzip" } });
        const early = await raw(path, { "accept-encoding": "gzip" });
        const rh = { ...viaRoute.headers };
        for (const k of ["date", "connection", "keep-alive"]) delete rh[k];
        expect(comparableRaw(early).headers).toEqual(rh);
        expect(early.body.equals(viaRoute.rawPayload)).toBe(true);
      }
      // Browser apps may read JSON Feed from any origin; the XML feeds say nothing.
      const json = await raw("/feeds/feed.json", { origin: "https://reader.example" });
      expect(json.headers["access-control-allow-origin"]).toBe("*");
      expect(json.headers["access-control-expose-headers"]).toBe("ETag");
      expect(
        (await raw("/feeds/feed.json", { "if-none-match": json.headers.etag! })).headers["access-control-allow-origin"],
      ).toBe("*");
      expect((await raw("/feeds/atom.xml")).headers["access-control-allow-origin"]).toBeUndefined();
      const preflight = await raw(
        "/feeds/feed.json",
        {
          origin: "https://reader.example",
          "access-control-request-method": "GET",
          "access-control-request-headers": "if-none-match",
        },
        "OPTIONS",
      );
      expect(preflight.status).toBe(204);
      expect(preflight.headers["access-control-allow-origin"]).toBe("*");
      expect(preflight.headers["access-control-allow-headers"]).toMatch(/If-None-Match/i);
      expect((await raw("/feeds/rss.xml", {}, "OPTIONS")).status).toBe(404);
      expect(routed.length).toBeGreaterThan(0);
    } finally {
      await served.close();
    }
  });

  it("a build that changes a feed ends the early answers with the old copy", async () => {
    await svc.publish(sampleRelease({ id: "old" }));
    await buildAll("all");
    const { served, routed, base } = await listening();
    try {
      const first = await eventually(
        async () => {
          const before = routed.length;
          const res = await fetch(`${base}/feeds/atom.xml`);
          await res.arrayBuffer();
          return routed.length === before ? res : null;
        },
        10_000,
        "an early answer",
      );
      const oldTag = first.headers.get("etag")!;
      await svc.publish(sampleRelease({ id: "new", publishedAt: "2026-11-28T09:59:00Z" }));
      await buildAll("all");
      const changed = await eventually(
        async () => {
          const res = await fetch(`${base}/feeds/atom.xml`, { headers: { "if-none-match": oldTag } });
          return res.status === 200 ? res : null;
        },
        10_000,
        "the new feed",
      );
      expect(changed.headers.get("etag")).not.toBe(oldTag);
      expect(await changed.text()).toContain("/releases/new");
    } finally {
      await served.close();
    }
  });
});

describe("404, 503 and empty feeds", () => {
  it("unknown topic, region, language, bad slug or file: 404 with a reason", async () => {
    await svc.publish(sampleRelease({ id: "x", topics: ["health"] }));
    await buildAll("all", "topics/health");
    for (const url of [
      "/feeds/topics/unknown-topic/atom.xml",
      "/feeds/regions/atlantis/rss.xml",
      "/feeds/languages/de/feed.json",
      "/feeds/languages/zz/feed.json",
      "/feeds/topics/Bad_Slug/atom.xml",
      "/feeds/colours/red/atom.xml",
      "/feeds/topics/health/index.html",
      "/feeds/nope.xml",
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error, url).toMatch(/no (such )?feed/);
    }
    expect((await app.inject("/feeds/topics/unknown-topic/atom.xml")).json().error).toMatch(/topic "unknown-topic"/);
    expect((await app.inject("/feeds/topics/health/atom.xml")).statusCode).toBe(200);
  });

  it("a known feed not built yet: 503 with Retry-After and a reason, never built by the request", async () => {
    await svc.publish(sampleRelease({ id: "cold", topics: ["health"] }));
    const res = await app.inject("/feeds/topics/health/rss.xml");
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("30");
    expect(res.json()).toMatchObject({ reason: "feed-not-built" });
    expect(res.json().error).toMatch(/herald feeds rebuild/);
    expect(await feedCache(rt).entry("topics/health", "rss")).toBeNull();
    expect((await app.inject("/feeds/atom.xml")).statusCode).toBe(503); // the global feed exists from the start
  });

  it("a topic whose releases were all withdrawn serves an empty feed, not 404", async () => {
    await svc.publish(sampleRelease({ id: "w1", topics: ["health"] }));
    await buildAll("topics/health");
    await svc.withdraw("w1");
    await buildAll("topics/health");
    const res = await app.inject("/feeds/topics/health/atom.xml");
    expect(res.statusCode).toBe(200);
    expect((await parseWithRssParser(res.body)).items).toEqual([]);
    expect(parseWithFxp(res.body).feed.entry).toBeUndefined();
  });
});

describe("HTML pages", () => {
  it("GET /feeds lists every feed with autodiscovery links", async () => {
    await svc.publish(
      sampleRelease({ id: "p1", topics: ["counter-trafficking"], regions: ["djibouti"], language: "en" }),
    );
    await svc.publish(sampleRelease({ id: "p2", topics: ["health"], regions: [], language: "fr" }));
    const res = await app.inject("/feeds");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    const links = [...res.body.matchAll(/<link rel="alternate" type="([^"]+)" title="[^"]*" href="([^"]+)">/g)].map(
      (m) => m[2],
    );
    expect(links).toHaveLength(3 * 6); // all, 2 topics, 1 region, 2 languages
    expect(links).toContain("https://news.example.org/feeds/topics/counter-trafficking/atom.xml");
    expect(links).toContain("https://news.example.org/feeds/languages/fr/feed.json");
    expect(res.body).toContain('<a href="/feeds/regions/djibouti/rss.xml">RSS</a>');
    expect(res.body).toContain("Counter-trafficking");
  });

  it("GET /releases/{id}: the release, escaped, with contacts and discovery links", async () => {
    await svc.publish(
      sampleRelease({
        id: "page",
        title: "Fish & Chips < Chips > Fish <b>bold</b>",
        dateline: "Djibouti",
        body: "<p>Body <script>alert(1)</script>text</p>",
      }),
    );
    await svc.publish(
      sampleRelease({ id: "page-fr", title: "Version française", language: "fr", translationOf: "page" }),
    );
    const res = await app.inject("/releases/page");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
    // Text, escaped; a tag in a title is stripped when stored (tag-like text would be markup to a feed reader).
    expect(res.body).toContain("<h1>Fish &amp; Chips &lt; Chips &gt; Fish bold</h1>");
    expect(res.body).not.toContain("<script>");
    expect(res.body).toContain("<strong>Djibouti</strong>");
    expect(res.body).toContain("mailto:aidriss@example.org");
    expect(res.body).toContain('<link rel="alternate" type="application/atom+xml"');
    expect(res.body).toContain('href="/releases/page-fr"');
    const fr = await app.inject("/releases/page-fr");
    expect(fr.body).toContain('<html lang="fr">');
    expect(fr.body).toContain('href="/releases/page"');
  });

  it("404 for unknown and embargoed releases, 410 for withdrawn ones", async () => {
    await svc.publish(sampleRelease({ id: "secret", title: "Embargoed title", embargoUntil: "2026-11-29T00:00:00Z" }));
    await svc.publish(sampleRelease({ id: "gone" }));
    await svc.withdraw("gone");
    const emb = await app.inject("/releases/secret");
    expect(emb.statusCode).toBe(404);
    expect(emb.body).not.toContain("Embargoed title");
    expect((await app.inject("/releases/nope")).statusCode).toBe(404);
    expect((await app.inject("/releases/..%2Fetc")).statusCode).toBe(404);
    const gone = await app.inject("/releases/gone");
    expect(gone.statusCode).toBe(410);
    expect(gone.body).toContain("withdrawn");
  });
});
