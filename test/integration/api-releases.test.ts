import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { auth, testApp } from "../helpers/http.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime;
let app: FastifyInstance;
beforeEach(async () => {
  rt = await testRuntime({ label: "api" });
  app = await testApp(rt);
});
afterEach(async () => {
  await app.close();
  await rt.destroy();
});

const post = (payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({
    method: "POST",
    url: "/api/releases",
    headers: { ...headers, "content-type": "application/json" },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });

describe("health", () => {
  it("answers /healthz and /readyz", async () => {
    expect((await app.inject("/healthz")).json()).toEqual({ ok: true });
    expect((await app.inject("/readyz")).json()).toMatchObject({ ok: true, redis: "up" });
  });
});

describe("POST /api/releases", () => {
  it("answers 202 with id and revision and queues the event", async () => {
    const res = await post(sampleRelease({ id: "api-one" }));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      id: "api-one",
      revision: 1,
      status: "published",
      jobId: "api-one-r1-published",
    });
    expect(await rt.queues[QUEUE.releaseEvents].getJob("api-one-r1-published")).toBeTruthy();
    const get = await app.inject({ url: "/api/releases/api-one", headers: auth });
    expect(get.json()).toMatchObject({ id: "api-one", revision: 1, topics: ["counter-trafficking"] });
  });

  it("the same release twice: 200 and no second event", async () => {
    const input = sampleRelease({ id: "api-twice" });
    expect((await post(input)).statusCode).toBe(202);
    const again = await post(input);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: "api-twice", revision: 1, jobId: null });
    expect(await rt.queues[QUEUE.releaseEvents].count()).toBe(1);
  });

  it("401 without or with a wrong token, storing nothing", async () => {
    expect((await post(sampleRelease(), {})).statusCode).toBe(401);
    const wrong = await post(sampleRelease(), { authorization: "Bearer nope" });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error).toMatch(/wrong API token/);
    expect(await rt.releases.count()).toBe(0);
  });

  it("400 with every issue for invalid input, storing nothing", async () => {
    const res = await post({ title: "Line\nbreak", body: "", publishedAt: "nope", language: "zz" });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error).toMatch(/invalid release/);
    expect(body.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      "body",
      "language",
      "publishedAt",
      "title",
    ]);
    expect(await rt.releases.count()).toBe(0);
  });

  it("400 for invalid JSON and for a non-object", async () => {
    const bad = await post("{not json");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBeTruthy();
    expect((await post("[1,2]")).statusCode).toBe(400);
  });

  it("413 for a body over 1 MiB", async () => {
    const res = await post(sampleRelease({ body: "x".repeat(1024 * 1024 + 10) }));
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatch(/1 MiB/);
    expect(await rt.releases.count()).toBe(0);
  });

  it("strips script, handlers and javascript: links but stores the release", async () => {
    const res = await post(
      sampleRelease({
        id: "xss",
        body: '<p onmouseover="x()">Hi<script>alert(1)</script><a href="javascript:alert(1)">l</a><img src="https://x.org/i.png" onerror="alert(1)"></p>',
      }),
    );
    expect(res.statusCode).toBe(202);
    const stored = await rt.releases.get("xss");
    expect(stored?.bodyHtml).not.toMatch(/script|onmouseover|onerror|javascript:/);
    expect(stored?.bodyHtml).toContain("Hi");
  });
});

describe("PUT and withdraw", () => {
  it("updates with a correction note and withdraws", async () => {
    await post(sampleRelease({ id: "api-up" }));
    const put = await app.inject({
      method: "PUT",
      url: "/api/releases/api-up",
      headers: auth,
      payload: { ...sampleRelease(), correction: "Fixed a date" },
    });
    expect(put.statusCode).toBe(202);
    expect(put.json()).toMatchObject({ id: "api-up", revision: 2 });
    expect((await rt.releases.get("api-up"))?.correction).toBe("Fixed a date");
    const w = await app.inject({ method: "POST", url: "/api/releases/api-up/withdraw", headers: auth });
    expect(w.json()).toMatchObject({ revision: 3, status: "withdrawn" });
  });

  it("404 for an unknown release; a rejected update changes nothing", async () => {
    expect(
      (await app.inject({ method: "PUT", url: "/api/releases/nope", headers: auth, payload: sampleRelease() }))
        .statusCode,
    ).toBe(404);
    await post(sampleRelease({ id: "keep", title: "Kept title" }));
    const bad = await app.inject({ method: "PUT", url: "/api/releases/keep", headers: auth, payload: { title: "" } });
    expect(bad.statusCode).toBe(400);
    expect(await rt.releases.get("keep")).toMatchObject({ revision: 1, title: "Kept title" });
  });
});

describe("API authentication", () => {
  it.each([
    ["POST", "/api/releases"],
    ["PUT", "/api/releases/x"],
    ["POST", "/api/releases/x/withdraw"],
    ["GET", "/api/releases/x"],
    ["POST", "/api/partners"],
    ["POST", "/api/subscribers"],
    ["POST", "/api/digests/daily/run"],
    ["GET", "/api/anything-else"],
  ] as const)("%s %s answers 401 without the token", async (method, url) => {
    const res = await app.inject({ method, url, payload: {} });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatch(/Authorization: Bearer/);
  });
});

describe("clean refusals, never a 500", () => {
  it("an id that cannot be a release id: 400 naming it, on every release route", async () => {
    for (const id of ["x:y", "x%3Ay", "A", "%00", "...", "a--b", "-a", "a.b", "%E2%80%AE", "a%20b"]) {
      for (const [method, url] of [
        ["GET", `/api/releases/${id}`],
        ["PUT", `/api/releases/${id}`],
        ["POST", `/api/releases/${id}/withdraw`],
      ] as const) {
        const res = await app.inject({
          method,
          url,
          headers: { ...auth, "content-type": "application/json" },
          payload: method === "GET" ? undefined : JSON.stringify(sampleRelease()),
        });
        expect(res.statusCode, `${method} ${url}`).toBe(400);
        expect(res.json()).toMatchObject({
          error: expect.stringMatching(/^invalid release id/),
          issues: [{ path: "id" }],
        });
      }
    }
    // Longer than the router takes (100 characters): 414 with a reason.
    const long = await app.inject({ url: `/api/releases/${"a".repeat(121)}`, headers: auth });
    expect(long.statusCode).toBe(414);
    expect(long.json().error).toBeTruthy();
    // A valid id that names nothing is still a 404.
    expect((await app.inject({ url: "/api/releases/no-such-release", headers: auth })).statusCode).toBe(404);
  });

  it("a release URL or image URL that is no valid http(s) URI: 400 naming the field, nothing stored", async () => {
    for (const [field, value] of [
      ["url", "https://example.org/a|b"],
      ["url", "https://www.iom.int@evil.example/"],
      ["url", "javascript:alert(1)"],
      ["image", { url: "https://example.org/%zz", alt: "x" }],
      ["image", { url: "https:\\\\evil.example", alt: "x" }],
    ] as const) {
      const res = await post(sampleRelease({ id: "bad-url", [field]: value }));
      expect(res.statusCode, JSON.stringify(value)).toBe(400);
      expect(res.json().issues.map((i: { path: string }) => i.path)).toEqual([field === "url" ? "url" : "image.url"]);
    }
    expect((await app.inject({ url: "/api/releases/bad-url", headers: auth })).statusCode).toBe(404);
    // Non-ASCII and characters a URI may not hold are stored percent-encoded.
    expect(
      (
        await post(
          sampleRelease({ id: "good-url", url: "https://www.iom.int/fr/actualités?q=a b".replace(" ", "%20") }),
        )
      ).statusCode,
    ).toBe(202);
    expect((await app.inject({ url: "/api/releases/good-url", headers: auth })).json().url).toBe(
      "https://www.iom.int/fr/actualit%C3%A9s?q=a%20b",
    );
  });
});
