// What a visitor and the press office meet: the front door at /, release pages, the feeds list
// and the forms, all in the visitor's language with labels from the vocabulary; and releases
// whose topics or regions the vocabulary does not know, refused with the known ones listed.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.ts";
import { testConfig } from "../../src/config/index.ts";
import { FRONT_PAGE_SIZE } from "../../src/http/front.ts";
import { createRuntime } from "../../src/runtime.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { runCli } from "../helpers/cli.ts";
import { buildApp } from "../../src/http/app.ts";
import { auth, TEST_TOKEN, testApp } from "../helpers/http.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime;
let app: FastifyInstance;
let svc: ReleaseService;
const clock = fixedClock("2026-11-28T10:00:00Z");
beforeEach(async () => {
  rt = await testRuntime({ clock, label: "front" });
  app = await testApp(rt);
  svc = new ReleaseService(rt);
});
afterEach(async () => {
  await app.close();
  await rt.destroy();
});

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ url, headers });
/** The checkbox labels a form offers for `name`. */
const offered = (html: string, name: string) =>
  [
    ...html.matchAll(new RegExp(`<input type="checkbox" name="${name}" value="([^"]+)"[^>]*> ([^<]+)</label>`, "g")),
  ].map((m) => [m[1], m[2]]);

describe("a vocabulary, not slugs", () => {
  it("refuses a release with an unknown topic or region over HTTP, listing the known ones, and stores nothing", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/api/releases",
      headers: auth,
      payload: sampleRelease({ id: "typo", topics: ["health", "helth"], regions: ["atlantis"] }),
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.issues.map((i: { path: string }) => i.path)).toEqual(["topics.1", "regions.0"]);
    expect(body.issues[0].message).toMatch(/unknown topic "helth"; known: .*counter-trafficking.*health/);
    expect(body.error).toMatch(/^invalid release: topics\.1: unknown topic "helth"/);
    expect(await rt.releases.get("typo")).toBeNull();
    expect(await rt.releases.count()).toBe(0);
    // A correction cannot bring one in either.
    await svc.publish(sampleRelease({ id: "ok" }));
    const put = await app.inject({
      method: "PUT",
      url: "/api/releases/ok",
      headers: auth,
      payload: sampleRelease({ topics: ["nope"] }),
    });
    expect(put.statusCode).toBe(400);
    expect((await rt.releases.get("ok"))?.revision).toBe(1);
  });

  it("herald publish refuses an unknown slug in one line; herald taxonomy add makes it known, list shows it", {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "herald-front-"));
    const file = path.join(dir, "r.json");
    writeFileSync(file, JSON.stringify(sampleRelease({ id: "edu", topics: ["education"] })));
    const env = { REDIS_URL: rt.redisUrl, HERALD_PREFIX: rt.config.prefix, VAR_DIR: dir };
    const refused = await runCli(["publish", file], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/topics\.0: unknown topic "education"; known: .*health/);
    const bad = await runCli(
      [
        "taxonomy",
        "add",
        "topics",
        "education",
        "--en",
        "Education",
        "--fr",
        "Éducation",
        "--es",
        "Educación",
        "--iptc",
        "5",
      ],
      env,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/iptc: an 8-digit IPTC Media Topic code/);
    const added = await runCli(
      [
        "taxonomy",
        "add",
        "topics",
        "education",
        "--en",
        "Education",
        "--fr",
        "Éducation",
        "--es",
        "Educación",
        "--iptc",
        "05000000",
      ],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    // Seen at once by this process too (the web server would be another process).
    expect((await rt.taxonomy.current()).label("topics", "education", "fr")).toBe("Éducation");
    const ok = await runCli(["publish", file], env);
    expect(ok.code, ok.stderr).toBe(0);
    const list = await runCli(["taxonomy", "list", "topics"], env);
    expect(list.stdout).toMatch(
      /^topics\teducation\tEducation \| Éducation \| Educación\tmedtop:05000000 http:\/\/cv\.iptc\.org\/newscodes\/mediatopic\/05000000$/m,
    );
  });

  it("readers choose from the vocabulary too: API and form refuse an unknown topic, CSV import skips the row", {
    timeout: 90_000,
  }, async () => {
    const api = await app.inject({
      method: "POST",
      url: "/api/subscribers",
      headers: auth,
      payload: { email: "t@example.org", topics: ["helth"], confirmed: true },
    });
    expect(api.statusCode, api.body).toBe(400);
    expect(api.json().issues[0]).toMatchObject({
      path: "topics.0",
      message: expect.stringMatching(/unknown topic "helth"; known: /),
    });
    const signing = await buildApp(rt, { apiToken: TEST_TOKEN, secretKey: "k".repeat(40) });
    const form = await signing.inject({
      method: "POST",
      url: "/subscribe",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "email=f%40example.org&regions=atlantis",
    });
    expect(form.statusCode).toBe(400);
    expect(form.body).toContain("unknown region &quot;atlantis&quot;");
    await signing.close();
    // A partner's filters too.
    const partner = await app.inject({
      method: "POST",
      url: "/api/partners",
      headers: auth,
      payload: { name: "P", url: "https://203.0.113.10/hook", topics: ["helth"] },
    });
    expect(partner.statusCode, partner.body).toBe(400);
    expect(partner.json().issues[0]).toMatchObject({
      path: "topics.0",
      message: expect.stringMatching(/unknown topic "helth"/),
    });
    const dir = mkdtempSync(path.join(tmpdir(), "herald-front-"));
    const csv = path.join(dir, "r.csv");
    writeFileSync(
      csv,
      "email,name,language,frequency,topics,regions,timezone\na@example.org,A,en,daily,health,,\nb@example.org,B,en,daily,helth,,\n",
    );
    const r = await runCli(["subscribers", "import", csv], {
      REDIS_URL: rt.redisUrl,
      HERALD_PREFIX: rt.config.prefix,
      VAR_DIR: dir,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/r\.csv:3: topics\.0: unknown topic "helth"/);
    expect(r.stdout).toMatch(/imported 1 row\(s\): 1 new, 0 updated; 1 bad row\(s\) skipped/);
  });

  it("a bad TAXONOMY_FILE stops start-up naming the variable", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "herald-front-"));
    const file = path.join(dir, "t.json");
    writeFileSync(file, JSON.stringify({ topics: [{ slug: "x", labels: { en: "X" } }] }));
    await expect(
      createRuntime({ config: testConfig({ prefix: "never-used", taxonomyFile: file }), redisUrl: redisUrl() }),
    ).rejects.toThrow(/TAXONOMY_FILE=.*t\.json.*topics\.0\.labels\.fr/);
  });

  it("forms offer labels in the page's language, only for topics with a public release now", async () => {
    await svc.publish(sampleRelease({ id: "h", topics: ["health"], regions: ["chad"] }));
    await svc.publish(sampleRelease({ id: "s", topics: ["shelter"], regions: ["djibouti"] }));
    await svc.publish(
      sampleRelease({ id: "e", topics: ["floods"], regions: ["somalia"], publishedAt: "2026-12-10T09:00:00Z" }),
    ); // embargoed
    await svc.withdraw("s");
    const fr = await get("/subscribe?lang=fr");
    expect(offered(fr.body, "topics")).toEqual([["health", "Santé"]]);
    expect(offered(fr.body, "regions")).toEqual([["chad", "Tchad"]]);
    const es = await get("/subscribe", { "accept-language": "es-PE,es;q=0.9" });
    expect(offered(es.body, "topics")).toEqual([["health", "Salud"]]);
    expect(es.body).not.toMatch(/shelter|floods|djibouti|somalia/);
    // The feeds list follows: no feed for a topic whose only release was withdrawn.
    const feeds = await get("/feeds?lang=fr");
    expect(feeds.body).toContain("Santé");
    expect(feeds.body).not.toMatch(/Hébergement|\/feeds\/topics\/shelter\//);
  });
});

describe("the front door", () => {
  it("lists the latest releases in the visitor's language, paginated, with subscribe and feeds", async () => {
    for (let i = 0; i < FRONT_PAGE_SIZE + 2; i++) {
      await svc.publish(
        sampleRelease({
          id: `r${i}`,
          title: `Release number ${i}`,
          publishedAt: new Date(Date.parse("2026-11-01T09:00:00Z") + i * 3600_000).toISOString(),
        }),
      );
    }
    const en = await get("/");
    expect(en.statusCode).toBe(200);
    expect(en.headers["content-type"]).toMatch(/^text\/html/);
    expect(en.headers.vary).toMatch(/Accept-Language/);
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain('<a class="brand" href="/?lang=en">International Organization for Migration</a>');
    expect(en.body).toMatch(/<main id="main">/);
    expect(en.body).toContain('href="/subscribe?lang=en"');
    expect(en.body).toContain('href="/feeds/atom.xml"');
    const titles = (html: string) => [...html.matchAll(/<h2><a href="\/releases\/([^"]+)">/g)].map((m) => m[1]);
    expect(titles(en.body)).toEqual(Array.from({ length: FRONT_PAGE_SIZE }, (_, i) => `r${FRONT_PAGE_SIZE + 1 - i}`));
    expect(en.body).toContain('rel="next" href="/?page=2&amp;lang=en"');
    expect(en.body).toContain("Counter-trafficking · Djibouti");
    const p2 = await get("/?page=2&lang=fr");
    expect(p2.body).toContain('<html lang="fr">');
    expect(p2.body).toContain("Organisation internationale pour les migrations (OIM)</a>");
    expect(titles(p2.body)).toEqual(["r1", "r0"]);
    expect(p2.body).toContain("Page 2 sur 2");
    expect(p2.body).toContain("Lutte contre la traite · Djibouti");
    expect(p2.body).toContain('rel="prev" href="/?lang=fr"');
    // Accept-Language chooses; ?lang= overrides it.
    expect((await get("/", { "accept-language": "es;q=0.9, en;q=0.1" })).body).toContain('<html lang="es">');
    expect((await get("/?lang=en", { "accept-language": "es" })).body).toContain('<html lang="en">');
    expect((await get("/?page=3")).statusCode).toBe(404);
  });

  it("answers a bad page with a clean 400, in HTML or JSON, for every spelling", async () => {
    for (const bad of ["0", "-1", "1.5", "abc", "1e3", "99999999999", "", "%20", "2&page=3", "０"]) {
      const res = await get(`/?page=${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.body, bad).toContain("page must be a whole number from 1");
    }
    const json = await get("/?page=x", { accept: "application/json" });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ error: expect.stringMatching(/invalid page "x"/), issues: [{ path: "page" }] });
  });

  it("shows a story once, in the visitor's language when translated", async () => {
    await svc.publish(sampleRelease({ id: "orig", title: "Border officials trained" }));
    await svc.publish(
      sampleRelease({ id: "orig-fr", title: "Des agents formés", language: "fr", translationOf: "orig" }),
    );
    const fr = await get("/?lang=fr");
    expect(fr.body).toContain("Des agents formés");
    expect(fr.body).not.toContain("Border officials trained");
    const en = await get("/?lang=en");
    expect(en.body).toContain("Border officials trained");
    expect(en.body).not.toContain("Des agents formés");
  });
});

describe("release pages and the feeds list in the reader's language", () => {
  it("a French release page has French headings, the branded header to /, labels from the vocabulary", async () => {
    await svc.publish(sampleRelease({ id: "orig", title: "Border officials trained" }));
    await svc.publish(
      sampleRelease({
        id: "orig-fr",
        title: "Des agents formés",
        language: "fr",
        translationOf: "orig",
        regions: ["djibouti", "east-and-horn-of-africa"],
      }),
    );
    const fr = await get("/releases/orig-fr");
    expect(fr.statusCode).toBe(200);
    expect(fr.body).toContain('<html lang="fr">');
    expect(fr.body).toContain(
      '<a class="brand" href="/?lang=fr">Organisation internationale pour les migrations (OIM)</a>',
    );
    expect(fr.body).toContain("<h2>Contacts</h2>");
    expect(fr.body).toContain("Aussi en\u00a0:");
    expect(fr.body).toContain("Flux\u00a0:");
    expect(fr.body).toContain(">Lutte contre la traite</a>");
    expect(fr.body).toContain(">Afrique de l’Est et Corne de l’Afrique</a>");
    expect(fr.body).not.toMatch(/Also in|Feeds:|>Contacts presse|counter trafficking/i);
    const es = await get("/releases/orig");
    expect(es.body).toContain("Also in:");
    // 404 and 410 pages: branded, in the visitor's language, linking to the front door.
    const missing = await get("/releases/nope", { "accept-language": "es" });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('<html lang="es">');
    expect(missing.body).toContain('href="/?lang=es"');
    await svc.withdraw("orig");
    const gone = await get("/releases/orig?lang=fr");
    expect(gone.statusCode).toBe(410);
    expect(gone.body).toContain("Ce communiqué a été retiré");
  });

  it("/feeds is branded and in the visitor's language", async () => {
    await svc.publish(sampleRelease({ id: "a", topics: ["migrant-protection"] }));
    const es = await get("/feeds", { "accept-language": "es" });
    expect(es.body).toContain('<html lang="es">');
    expect(es.body).toContain('<a class="brand" href="/?lang=es">');
    expect(es.body).toContain("<h2>Por tema</h2>");
    expect(es.body).toContain("Protección de los migrantes:");
    expect(es.body).not.toMatch(/All releases|By topic|Every release/);
    const fr = await get("/feeds?lang=fr");
    expect(fr.body).toContain("Protection des migrants\u00a0:");
  });
});
