// The vocabulary of topics and regions: the built-in file is complete and well formed, covers
// every slug the samples use, and a TAXONOMY_FILE is merged over it (or stops start-up).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, testConfig } from "../../src/config/index.ts";
import { renderAtom } from "../../src/feeds/atom.ts";
import { feedMeta } from "../../src/feeds/item.ts";
import { renderRss } from "../../src/feeds/rss.ts";
import { renderReleasePage } from "../../src/http/pages/feed-pages.ts";
import { parseWithFxp, parseWithRssParser, release } from "../helpers/feeds.ts";
import { DEMO_READERS, EXAMPLES_DIR } from "../../src/demo.ts";
import { builtInTaxonomy, defaultTaxonomy, readTaxonomyFile, Taxonomy } from "../../src/releases/taxonomy.ts";

const data = builtInTaxonomy();
const t = defaultTaxonomy();

describe("the built-in vocabulary", () => {
  it("holds a useful IOM set: at least 20 topics and 30 regions, every slug once", () => {
    expect(data.topics.length).toBeGreaterThanOrEqual(20);
    expect(data.regions.length).toBeGreaterThanOrEqual(30);
    for (const kind of ["topics", "regions"] as const) {
      const slugs = data[kind].map((e) => e.slug);
      expect(new Set(slugs).size, `${kind} slugs are unique`).toBe(slugs.length);
    }
  });

  it("labels every entry in en, fr and es (never the raw slug) and codes it", () => {
    for (const kind of ["topics", "regions"] as const) {
      for (const e of data[kind]) {
        for (const lang of ["en", "fr", "es"] as const) {
          expect(e.labels[lang].trim(), `${kind}/${e.slug} ${lang}`).not.toBe("");
          expect(e.labels[lang], `${kind}/${e.slug} ${lang}`).not.toBe(e.slug);
        }
      }
    }
    for (const e of data.topics) expect(e.iptc, e.slug).toMatch(/^\d{8}$/);
    const countries = data.regions.filter((e) => e.iso);
    expect(countries.length).toBeGreaterThanOrEqual(30);
    for (const e of countries)
      expect(new Intl.DisplayNames(["en"], { type: "region" }).of(e.iso!), e.slug).not.toBe(e.iso);
  });

  it("knows every topic and region the sample releases and demo readers use", () => {
    for (const f of readdirSync(EXAMPLES_DIR).filter((x) => x.endsWith(".json"))) {
      const r = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, f), "utf8"));
      expect(t.unknownIssues({ topics: r.topics ?? [], regions: r.regions ?? [] }), f).toEqual([]);
    }
    for (const reader of DEMO_READERS) {
      expect(
        t.unknownIssues({ topics: (reader.topics as string[]) ?? [], regions: (reader.regions as string[]) ?? [] }),
        reader.email,
      ).toEqual([]);
    }
  });

  it("gives IPTC and GeoNames URIs and ISO codes; a Herald-only concept has no URI", () => {
    expect(t.concept("topics", "health", "fr")).toEqual({
      slug: "health",
      label: "Santé",
      uri: "http://cv.iptc.org/newscodes/mediatopic/07000000",
      scheme: "http://cv.iptc.org/newscodes/mediatopic/",
      code: "medtop:07000000",
    });
    expect(t.concept("regions", "djibouti", "es")).toMatchObject({
      label: "Yibuti",
      code: "DJ",
      uri: "https://sws.geonames.org/223816/",
    });
    expect(t.concept("regions", "east-africa", "en")).toEqual({ slug: "east-africa", label: "East Africa" });
    // An unknown slug (old data) still reads as words, never as a hyphenated slug.
    expect(t.label("topics", "old-topic", "fr")).toBe("Old topic");
    // A language Herald does not speak reads English.
    expect(t.label("topics", "counter-trafficking", "ar")).toBe("Counter-trafficking");
  });

  it("lists known slugs in the refusal of an unknown one", () => {
    const issues = t.unknownIssues({ topics: ["health", "helth"], regions: ["atlantis"] });
    expect(issues.map((i) => i.path)).toEqual(["topics.1", "regions.0"]);
    expect(issues[0]!.message).toMatch(/unknown topic "helth"; known: .*counter-trafficking.*health/);
    expect(issues[1]!.message).toMatch(/unknown region "atlantis"; known: .*djibouti/);
  });
});

describe("TAXONOMY_FILE", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-taxonomy-"));
  const file = (name: string, content: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  it("adds and relabels entries over the built-in ones", () => {
    const extra = readTaxonomyFile(
      file(
        "ok.json",
        JSON.stringify({
          topics: [
            {
              slug: "health",
              labels: { en: "Health and well-being", fr: "Santé et bien-être", es: "Salud y bienestar" },
              iptc: "07000000",
            },
            { slug: "education", labels: { en: "Education", fr: "Éducation", es: "Educación" }, iptc: "05000000" },
          ],
        }),
      ),
    );
    const merged = new Taxonomy([data, extra]);
    expect(merged.label("topics", "health", "fr")).toBe("Santé et bien-être");
    expect(merged.has("topics", "education")).toBe(true);
    expect(merged.has("regions", "djibouti")).toBe(true);
  });

  it("a bad file stops start-up naming the variable and the problem", () => {
    const cases: [string, RegExp][] = [
      [file("bad-json.json", "{ nope"), /TAXONOMY_FILE=.*bad-json\.json.*is not allowed/],
      [
        file(
          "bad-slug.json",
          JSON.stringify({ topics: [{ slug: "Not A Slug", labels: { en: "a", fr: "b", es: "c" } }] }),
        ),
        /topics\.0\.slug/,
      ],
      [
        file("no-fr.json", JSON.stringify({ regions: [{ slug: "x-land", labels: { en: "X", es: "X" } }] })),
        /regions\.0\.labels\.fr/,
      ],
      [
        file(
          "bad-iso.json",
          JSON.stringify({ regions: [{ slug: "x-land", labels: { en: "X", fr: "X", es: "X" }, iso: "XX" }] }),
        ),
        /regions\.0\.iso/,
      ],
      [
        file(
          "bad-iptc.json",
          JSON.stringify({ topics: [{ slug: "t", labels: { en: "X", fr: "X", es: "X" }, iptc: "medtop:1" }] }),
        ),
        /topics\.0\.iptc/,
      ],
      [path.join(dir, "missing.json"), /TAXONOMY_FILE=.*missing\.json/],
    ];
    for (const [f, reason] of cases) {
      expect(() => readTaxonomyFile(f)).toThrow(ConfigError);
      expect(() => readTaxonomyFile(f)).toThrow(reason);
    }
  });
});

describe("labels are text wherever they go", () => {
  it("a label with markup stays well-formed XML and escaped HTML", async () => {
    const nasty = new Taxonomy([
      data,
      {
        topics: [
          {
            slug: "health",
            labels: { en: `Health <b>& "care"</b> ]]>`, fr: "Santé <i>", es: "Salud" },
            iptc: "07000000",
          },
        ],
        regions: [],
      },
    ]);
    const r = release({ id: "n", topics: ["health"] }, { id: "n" });
    const config = testConfig({ publicUrl: "https://news.example.org" });
    const meta = feedMeta(config, "all", [r], nasty);
    const rss = renderRss(meta, [r], 0);
    parseWithFxp(rss);
    const cats = (await parseWithRssParser(rss)).items[0]!.categories as unknown as { _: string }[];
    expect(cats[0]!._).toBe(`Health <b>& "care"</b> ]]>`);
    const atom = parseWithFxp(renderAtom(meta, [r], 0));
    expect(atom.feed.entry[0].category[0]["@_label"]).toBe(`Health <b>& "care"</b> ]]>`);
    const html = renderReleasePage(config, r, { translations: [] }, nasty);
    expect(html).toContain("Health &lt;b&gt;&amp; &quot;care&quot;&lt;/b&gt; ]]&gt;");
    expect(html).not.toContain("<b>&");
  });
});
