// Hostile input, table-driven: what a stranger can send through the API, the CLI, a scraped
// page or a partner URL. Each case gets a clear 4xx (or a non-zero exit) with a reason and
// stores nothing, or, where the contract says markup is stripped, is stored clean. Then every
// stored release goes through every output (RSS, Atom, JSON Feed, over HTTP and from the
// renderers, the release page, the ninjs webhook envelope) and no script may come out.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFeed, RENDERERS } from "../../src/feeds/build.ts";
import { feedMeta } from "../../src/feeds/item.ts";
import { FORMATS } from "../../src/feeds/keys.ts";
import { renderReleasePage } from "../../src/http/pages/feed-pages.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { buildEnvelope } from "../../src/partners/envelope.ts";
import { listPartners } from "../../src/partners/service.ts";
import { importPage } from "../../src/releases/importer.ts";
import type { Release } from "../../src/releases/model.ts";
import { buildRelease, parseReleaseInput } from "../../src/releases/service.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import { auth, TEST_TOKEN, testApp } from "../helpers/http.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { activeContent, activeIn } from "./no-script.ts";

const SCRIPT = `<script>alert("xss")</script>`;
const IMG = `<img src=x onerror="alert(1)">`;
const ENCODED = "&lt;script&gt;alert(1)&lt;/script&gt;";

let rt: TestRuntime;
let app: FastifyInstance;
let dir: string;
/** Releases a case expects to be stored (sanitised): their outputs are scanned at the end. */
const storedIds: string[] = [];

beforeAll(async () => {
  rt = await testRuntime({ label: "hostile" });
  app = await testApp(rt);
  dir = mkdtempSync(path.join(tmpdir(), "herald-hostile-"));
});
afterAll(async () => {
  await app?.close();
  await rt?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

interface ApiCase {
  name: string;
  method?: "POST" | "PUT";
  url?: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a Buffer or string as it is. */
  body: unknown;
  status: number;
  error?: RegExp;
}

const release = (id: string, over: Record<string, unknown> = {}) => ({ ...sampleRelease({ id }), ...over });
const contact = (over: Record<string, unknown>) => [
  { name: "Amina Idriss", office: "IOM Djibouti", email: "aidriss@example.org", ...over },
];

// Stored, markup stripped: a script in any text field is not a reason to lose the release.
const strippedCases: ApiCase[] = [
  { name: "script in title", body: release("h-title", { title: `Border ${SCRIPT} Training` }), status: 202 },
  { name: "img onerror in title", body: release("h-title-img", { title: `Border ${IMG} Training` }), status: 202 },
  {
    name: "entity-encoded script in title",
    body: release("h-title-enc", { title: `Border ${ENCODED} Training` }),
    status: 202,
  },
  { name: "script in summary", body: release("h-summary", { summary: `Course ${SCRIPT}${IMG}` }), status: 202 },
  {
    name: "entity-encoded script in summary",
    body: release("h-summary-enc", { summary: `Course ${ENCODED}` }),
    status: 202,
  },
  {
    name: "double-encoded script in summary",
    body: release("h-summary-enc2", { summary: "Course &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;" }),
    status: 202,
  },
  {
    name: "script, style, iframe, handlers and javascript: links in body",
    body: release("h-body", {
      body: `<p onclick="x()">Trained ${SCRIPT}</p><style>p{}</style><iframe src="https://evil.example/"></iframe>${IMG}<a href="javascript:alert(1)">a</a><a href=" JaVa&#x53;cript:alert(2)">b</a><svg onload="alert(3)"></svg><p><a href="https://ok.example/">fine</a></p>`,
    }),
    status: 202,
  },
  {
    name: "plain-text body that looks like a script",
    body: release("h-body-text", { body: `Trained forty officials.\n\n${ENCODED} and ${SCRIPT}` }),
    status: 202,
  },
  { name: "script in dateline", body: release("h-dateline", { dateline: `Djibouti ${SCRIPT}` }), status: 202 },
  {
    name: "script in contact name",
    body: release("h-contact-name", { contacts: contact({ name: `Amina ${SCRIPT}` }) }),
    status: 202,
  },
  {
    name: "handler in contact office and phone",
    body: release("h-contact-office", { contacts: contact({ office: `IOM ${IMG}`, phone: `+253 ${SCRIPT}` }) }),
    status: 202,
  },
  {
    name: "onerror in image alt",
    body: release("h-image-alt", {
      image: { url: "https://img.example/a.jpg", alt: `Officials"><img src=x onerror=alert(1)>` },
    }),
    status: 202,
  },
];

const rejectedCases: ApiCase[] = [
  {
    name: "javascript: release url",
    body: release("r-url", { url: "javascript:alert(1)" }),
    status: 400,
    error: /url: an http\(s\) URL/,
  },
  {
    name: "javascript: image url",
    body: release("r-img", { image: { url: "javascript:alert(1)", alt: "x" } }),
    status: 400,
    error: /image\.url/,
  },
  {
    name: "data: image url",
    body: release("r-img-data", { image: { url: "data:text/html,<script>alert(1)</script>", alt: "x" } }),
    status: 400,
    error: /image\.url/,
  },
  {
    name: "CR/LF in title (header injection)",
    body: release("r-crlf", { title: "Officials\r\nBcc: everyone@example.org" }),
    status: 400,
    error: /title: must be one line/,
  },
  {
    name: "LF in dateline",
    body: release("r-lf-dateline", { dateline: "Djibouti\nX-Injected: 1" }),
    status: 400,
    error: /dateline: must be one line/,
  },
  {
    name: "U+2028 in title",
    body: release("r-u2028", { title: "Officials\u2028trained" }),
    status: 400,
    error: /title: must be one line/,
  },
  {
    name: "CR/LF in contact name",
    body: release("r-crlf-name", { contacts: contact({ name: "Amina\r\nBcc: x@example.org" }) }),
    status: 400,
    error: /contacts\.0\.name: must be one line/,
  },
  {
    name: "CR/LF in contact email",
    body: release("r-crlf-email", { contacts: contact({ email: "a@example.org\r\nBcc: x@example.org" }) }),
    status: 400,
    error: /contacts\.0\.email/,
  },
  {
    name: "script as contact email",
    body: release("r-script-email", { contacts: contact({ email: `${SCRIPT}@example.org` }) }),
    status: 400,
    error: /contacts\.0\.email/,
  },
  {
    name: "a title that is nothing but a script",
    body: release("r-only-script", { title: SCRIPT }),
    status: 400,
    error: /title: has no text once markup is removed/,
  },
  {
    name: "a body that is nothing but a script",
    body: release("r-only-script-body", { body: `${SCRIPT}<style>p{}</style>` }),
    status: 400,
    error: /body/,
  },
  {
    name: "overlong title",
    body: release("r-long-title", { title: "x".repeat(301) }),
    status: 400,
    error: /title: at most 300/,
  },
  {
    name: "overlong summary",
    body: release("r-long-summary", { summary: "x".repeat(2001) }),
    status: 400,
    error: /summary: at most 2000/,
  },
  {
    name: "overlong contact name",
    body: release("r-long-name", { contacts: contact({ name: "x".repeat(201) }) }),
    status: 400,
    error: /contacts\.0\.name: at most 200/,
  },
  { name: "body over 1 MiB", body: release("r-huge", { body: `<p>${"x".repeat(1024 * 1024 + 10)}</p>` }), status: 413 },
  { name: "script as a topic", body: release("r-topic", { topics: [SCRIPT] }), status: 400, error: /topics\.0/ },
  { name: "path traversal id", body: release("../../etc/passwd"), status: 400, error: /id: lower-case/ },
  { name: "colon in id (job ids)", body: release("a:b"), status: 400, error: /id: lower-case/ },
  {
    name: "invalid UTF-8 bytes in the JSON body",
    body: Buffer.concat([
      Buffer.from('{"title":"Officials '),
      Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
      Buffer.from(`","body":"<p>x</p>","id":"r-utf8"}`),
    ]),
    status: 400,
    error: /UTF-8/,
  },
  { name: "not JSON", body: "<release>x</release>", status: 400 },
  { name: "a JSON array", body: "[1,2,3]", status: 400, error: /JSON object/ },
  { name: "no token", headers: {}, body: release("r-auth-none"), status: 401, error: /missing Authorization/ },
  {
    name: "forged token",
    headers: { authorization: "Bearer forged-token-0123456789abcdef" },
    body: release("r-auth-forged"),
    status: 401,
    error: /wrong API token/,
  },
  {
    name: "token with a suffix",
    headers: { authorization: `Bearer ${TEST_TOKEN}x` },
    body: release("r-auth-suffix"),
    status: 401,
    error: /wrong API token/,
  },
  {
    name: "token in Basic auth",
    headers: { authorization: `Basic ${Buffer.from(`admin:${TEST_TOKEN}`).toString("base64")}` },
    body: release("r-auth-basic"),
    status: 401,
  },
  {
    name: "two tokens",
    headers: { authorization: `Bearer forged Bearer ${TEST_TOKEN}` },
    body: release("r-auth-two"),
    status: 401,
  },
];

async function send(c: ApiCase) {
  const raw = Buffer.isBuffer(c.body) || typeof c.body === "string";
  return app.inject({
    method: c.method ?? "POST",
    url: c.url ?? "/api/releases",
    headers: { ...(c.headers ?? auth), "content-type": "application/json" },
    payload: raw ? (c.body as string | Buffer) : JSON.stringify(c.body),
  });
}

async function counts() {
  return { releases: await rt.releases.count(), events: await rt.queues[QUEUE.releaseEvents].count() };
}

describe("hostile input: releases API", () => {
  it.each(rejectedCases.map((c) => [c.name, c] as const))(
    "%s: refused with a reason, nothing stored",
    async (_n, c) => {
      const before = await counts();
      const res = await send(c);
      expect(res.statusCode).toBe(c.status);
      const body = res.json();
      expect(typeof body.error).toBe("string");
      if (c.error) expect(`${body.error} ${JSON.stringify(body.issues ?? [])}`).toMatch(c.error);
      expect(await counts()).toEqual(before);
    },
  );

  it.each(strippedCases.map((c) => [c.name, c] as const))("%s: stored with the markup stripped", async (_n, c) => {
    const res = await send(c);
    expect(res.statusCode, res.body).toBe(c.status);
    const id = res.json().id as string;
    storedIds.push(id);
    const stored = (await rt.releases.get(id))!;
    expect(activeIn("json", JSON.stringify(stored))).toEqual([]);
  });

  it("a correction (PUT) with script in the title and note: stored stripped; with CR/LF: 400 and no new revision", async () => {
    expect((await send({ name: "base", body: release("h-put"), status: 202 })).statusCode).toBe(202);
    storedIds.push("h-put");
    const put = await send({
      name: "put",
      method: "PUT",
      url: "/api/releases/h-put",
      body: { ...release("h-put", { title: `Corrected ${SCRIPT}` }), correction: `Fixed ${IMG} ${ENCODED}` },
      status: 202,
    });
    expect(put.statusCode).toBe(202);
    const r = (await rt.releases.get("h-put"))!;
    expect(r.revision).toBe(2);
    expect(activeIn("json", JSON.stringify(r))).toEqual([]);
    const bad = await send({
      name: "put crlf",
      method: "PUT",
      url: "/api/releases/h-put",
      body: release("h-put", { title: "A\r\nB" }),
      status: 400,
    });
    expect(bad.statusCode).toBe(400);
    expect((await rt.releases.get("h-put"))!.revision).toBe(2);
    const forged = await send({
      name: "put forged",
      method: "PUT",
      url: "/api/releases/h-put",
      headers: { authorization: "Bearer forged-token-0123456789abcdef" },
      body: release("h-put", { title: "Defaced" }),
      status: 401,
    });
    expect(forged.statusCode).toBe(401);
    expect((await rt.releases.get("h-put"))!.title).not.toBe("Defaced");
  });
});

// SSRF: every one of these is refused when the partner is added, with the range it falls in.
const ssrfCases: [string, string, RegExp][] = [
  ["cloud metadata 169.254.169.254", "https://169.254.169.254/latest/meta-data/", /169\.254\.169\.254 is linkLocal/],
  ["hex short form 0x7f.1", "https://0x7f.1/hook", /127\.0\.0\.1 is loopback/],
  ["decimal 2130706433", "https://2130706433/hook", /127\.0\.0\.1 is loopback/],
  ["octal 017700000001", "https://017700000001/hook", /127\.0\.0\.1 is loopback/],
  ["short 127.1", "https://127.1/hook", /127\.0\.0\.1 is loopback/],
  ["IPv6 loopback [::1]", "https://[::1]/hook", /loopback/],
  ["IPv4-mapped [::ffff:127.0.0.1]", "https://[::ffff:127.0.0.1]/hook", /loopback/],
  ["a name that resolves to 127.0.0.1 (localhost)", "https://localhost/hook", /resolves to .* loopback/],
  ["private 10.0.0.1", "https://10.0.0.1/hook", /private/],
  ["carrier-grade NAT 100.64.0.1", "https://100.64.0.1/hook", /carrierGradeNat/],
  ["unspecified 0.0.0.0", "https://0.0.0.0/hook", /unspecified/],
  ["unique local [fd00::1]", "https://[fd00::1]/hook", /uniqueLocal/],
  [
    "plain http:// without --allow-private",
    "http://partner.example.org/hook",
    /plain http:\/\/ is only allowed with --allow-private/,
  ],
  ["credentials in the URL", "https://user:pw@partner.example.org/hook", /user name or password/],
  ["file: URL", "file:///etc/passwd", /must be https/],
  ["gopher: URL", "gopher://127.0.0.1:6379/_FLUSHALL", /must be https/],
];

describe("hostile input: partners API", () => {
  const add = (body: unknown, headers = auth) =>
    app.inject({
      method: "POST",
      url: "/api/partners",
      headers: { ...headers, "content-type": "application/json" },
      payload: JSON.stringify(body),
    });

  it.each(ssrfCases)("%s: refused", async (_n, url, reason) => {
    const res = await add({ name: "Outlet", url });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(reason);
    expect(await listPartners(rt)).toEqual([]);
  });

  it.each([
    ["CR/LF in the name", { name: "Outlet\r\nX-Evil: 1", url: "https://203.0.113.10/hook" }, /name: must be one line/],
    ["overlong name", { name: "x".repeat(121), url: "https://203.0.113.10/hook" }, /name: at most 120/],
    ["a secret that is not whsec_", { name: "Outlet", url: "https://203.0.113.10/hook", secret: "hunter2" }, /secret/],
  ] as const)("%s: refused", async (_n, body, reason) => {
    const res = await add(body);
    expect(res.statusCode).toBe(400);
    expect(`${res.json().error} ${JSON.stringify(res.json().issues)}`).toMatch(reason);
    expect(await listPartners(rt)).toEqual([]);
  });

  it("a forged token cannot add a partner", async () => {
    const res = await add(
      { name: "Outlet", url: "https://203.0.113.10/hook" },
      { authorization: "Bearer forged-token-0123456789abcdef" },
    );
    expect(res.statusCode).toBe(401);
    expect(await listPartners(rt)).toEqual([]);
  });
});

function hostilePage(): string {
  const page = readFileSync(path.join(ROOT, "test/fixtures/import/iom-style-release.html"), "utf8");
  return page
    .replace(
      '<span class="field field--name-title">Flood Response',
      `<span class="field field--name-title">Flood ${SCRIPT}${IMG} Response`,
    )
    .replace(
      "<p>The response so far includes:</p>",
      `<p onmouseover="steal()">The response so far includes: ${IMG}<a href="javascript:alert(1)">details</a> <a href="&#106;avascript:alert(2)">more</a></p><style>p{display:none}</style><iframe src="https://evil.example/"></iframe><svg><script>alert(4)</script></svg><object data="https://evil.example/x.swf"></object>`,
    );
}

describe("hostile input: scraped pages and the CLI", () => {
  it("the importer drops script, style, handlers and javascript: links from a scraped page", () => {
    const input = importPage(hostilePage());
    const r = buildRelease(parseReleaseInput(input), "imported", 1, Date.parse("2026-05-01T00:00:00Z"), null);
    expect(r.title).toContain("Flood");
    expect(r.bodyHtml).toContain("The response so far includes:");
    expect(activeIn("json", JSON.stringify(r))).toEqual([]);
  });

  it("herald publish and partners add: a hostile file and URL exit non-zero with a reason, script-laden ones store sanitised", {
    timeout: 90_000,
  }, async () => {
    const env = { REDIS_URL: rt.redisUrl, HERALD_PREFIX: rt.config.prefix, VAR_DIR: dir };
    const file = (name: string, content: string | Buffer) => {
      const p = path.join(dir, name);
      writeFileSync(p, content);
      return p;
    };
    const crlf = file("crlf.json", JSON.stringify(release("cli-crlf", { title: "A\r\nBcc: x@example.org" })));
    const script = file(
      "script.json",
      JSON.stringify(release("cli-script", { title: `CLI ${SCRIPT}`, body: `<p>ok</p>${SCRIPT}${IMG}` })),
    );
    const page = file("page.html", hostilePage());
    const before = await rt.releases.count();
    // (Binary files and plain http:// partners are refused in the CLI and partner suites.)
    const [r1, r2, r3, r5] = await Promise.all([
      runCli(["publish", crlf], env, { timeoutMs: 80_000 }),
      runCli(["publish", script], env, { timeoutMs: 80_000 }),
      runCli(["publish", page, "--topics", "floods"], env, { timeoutMs: 80_000 }),
      runCli(["partners", "add", "--name", "Meta", "--url", "https://169.254.169.254/latest/"], env, {
        timeoutMs: 80_000,
      }),
    ]);
    for (const [r, reason] of [
      [r1, /title: must be one line/],
      [r5, /169\.254\.169\.254 is linkLocal/],
    ] as const) {
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(reason);
    }
    expect(r2.code, r2.stderr).toBe(0);
    expect(r3.code, r3.stderr).toBe(0);
    expect(await rt.releases.count()).toBe(before + 2);
    expect(await listPartners(rt)).toEqual([]);
    storedIds.push("cli-script");
    const pageId = /\b([a-z0-9]+(?:-[a-z0-9]+)*)\b/.exec(r3.stdout.match(/flood[a-z0-9-]*/)?.[0] ?? "")?.[1];
    expect(pageId, r3.stdout).toBeTruthy();
    storedIds.push(pageId!);
  });
});

describe("no script reaches any output", () => {
  it("every stored hostile release, through every feed format, the release page and the ninjs webhook", async () => {
    const releases = (await Promise.all(storedIds.map((id) => rt.releases.get(id)))).filter(
      (r): r is Release => r !== null,
    );
    expect(releases.length).toBe(storedIds.length);
    expect(releases.length).toBeGreaterThanOrEqual(strippedCases.length + 3);
    const now = Date.parse("2026-12-01T00:00:00Z");
    const meta = feedMeta(rt.config, "all", releases);
    const problems: string[] = [];
    const check = (where: string, found: string[]) => problems.push(...found.map((f) => `${where}: ${f}`));
    for (const format of FORMATS)
      check(`renderer ${format}`, activeIn(format === "json" ? "json" : "xml", RENDERERS[format](meta, releases, now)));
    for (const r of releases) {
      check(`page ${r.id}`, activeContent(renderReleasePage(rt.config, r, { translations: [] })));
      const http = await app.inject(`/releases/${r.id}`);
      expect(http.statusCode).toBe(200);
      check(`GET /releases/${r.id}`, activeContent(http.body));
      check(
        `ninjs ${r.id}`,
        activeIn(
          "json",
          JSON.stringify(buildEnvelope(r, "published", { publicUrl: rt.config.publicUrl, orgName: rt.config.orgName })),
        ),
      );
    }
    // And as served: the feeds built by the worker's own code, over HTTP.
    await buildFeed(rt, "all");
    for (const [file, kind] of [
      ["rss.xml", "xml"],
      ["atom.xml", "xml"],
      ["feed.json", "json"],
    ] as const) {
      const res = await app.inject(`/feeds/${file}`);
      expect(res.statusCode).toBe(200);
      check(`GET /feeds/${file}`, activeIn(kind, res.body));
    }
    expect(problems).toEqual([]);
  });
});
