// A digest assembled from compiled pieces (the layout once per language, each release's rows once)
// is the digest MJML renders whole: byte for byte once both are personalised for the same reader,
// and, read by a real HTML parser, the same links and texts in the same order. Sizes 1..50, three
// languages, titles and summaries with characters HTML escapes, groups in several orders.
import { Parser } from "htmlparser2";
import { describe, expect, it } from "vitest";
import { defaultTaxonomy } from "../../src/releases/taxonomy.ts";
import { personalise } from "../../src/templates/personalise.ts";
import {
  assemblyStats,
  type ReleaseItem,
  renderDigest,
  renderDigestFull,
  warmDigestTemplates,
} from "../../src/templates/messages.ts";
import type { Brand } from "../../src/templates/render.ts";
import { templateStats } from "../../src/templates/stats.ts";

const brand: Brand = {
  orgName: "International Organization for Migration",
  orgNames: {
    fr: "Organisation internationale pour les migrations (OIM)",
    es: "Organización Internacional para las Migraciones (OIM)",
  },
  taxonomy: defaultTaxonomy(),
  color: "#0033a0",
  publicUrl: "https://news.example.org",
};
const TOPICS = ["health", "climate-and-environment", "migration-governance", ""];
const REGIONS = ["djibouti", "kenya", ""];

function items(n: number, seed: string): ReleaseItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${seed}-${i}`,
    title: `Release ${i} <b>&</b> "quotes" 'single' — Café ${seed}`,
    // Some with space around (MJML trims an mj-text's content), one with nothing but space.
    summary:
      i % 3 === 0
        ? undefined
        : i % 5 === 1
          ? `  Summary ${i}:\n spaced out \t`
          : i % 5 === 2
            ? " \n "
            : `Summary ${i}: a < b & c > d, ünïcödé 👋`,
    dateline: i % 4 === 0 ? undefined : `Djibouti ${i}`,
    publishedAt: new Date(Date.UTC(2026, 10, 20 + (i % 7), i % 24)).toISOString(),
    url: `https://www.iom.example/news/${i}`,
    topics: TOPICS[i % TOPICS.length] ? [TOPICS[i % TOPICS.length]!] : [],
    regions: REGIONS[i % REGIONS.length] ? [REGIONS[i % REGIONS.length]!] : [],
  })) as ReleaseItem[];
}

const reader = (language: "en" | "fr" | "es", timezone: string) => ({
  name: "Zoë <O'Brien> & Co",
  language,
  timezone,
  unsubscribeUrl: "https://news.example.org/unsubscribe?token=a.b&x=1",
  preferencesUrl: "https://news.example.org/preferences?token=c.d",
});

/** Links (href) and text nodes, in document order, as a parser reads them. */
function readHtml(html: string): { links: string[]; texts: string[] } {
  const links: string[] = [];
  const texts: string[] = [];
  const p = new Parser(
    {
      onopentag: (_name, attrs) => {
        if (attrs.href) links.push(attrs.href);
      },
      ontext: (t) => {
        const s = t.replace(/\s+/g, " ").trim();
        if (s) texts.push(s);
      },
    },
    { decodeEntities: true },
  );
  p.write(html);
  p.end();
  return { links, texts };
}

describe("digest assembly", () => {
  const cases: ["en" | "fr" | "es", number][] = [
    ["en", 1],
    ["fr", 2],
    ["es", 3],
    ["en", 10],
    ["fr", 17],
    ["es", 50],
    ["en", 50],
  ];
  it.each(cases)("%s, %i item(s): the same mail as a whole MJML render", async (lang, n) => {
    const list = items(n, `${lang}${n}`);
    const before = { ...assemblyStats, renders: templateStats.mjmlRenders };
    const assembled = await renderDigest(brand, lang, "daily", list);
    // Assembled, not the whole-render fallback: each release filled in once, here, and no MJML per
    // release (at most the layout and the two item templates, the first time for a language).
    expect(assemblyStats.assembled - before.assembled).toBe(1);
    expect(assemblyStats.itemFills - before.itemFills).toBe(n);
    expect(templateStats.mjmlRenders - before.renders).toBeLessThanOrEqual(3);
    const full = await renderDigestFull(brand, lang, "daily", list);
    expect(assembled.subject).toBe(full.subject);
    for (const tz of ["UTC", "Pacific/Auckland", "America/Los_Angeles"]) {
      const a = personalise(assembled, reader(lang, tz));
      const f = personalise(full, reader(lang, tz));
      expect(a.text).toBe(f.text);
      expect(a.html).toBe(f.html);
      const parsed = readHtml(a.html);
      expect(parsed).toEqual(readHtml(f.html));
      // Not vacuous: every release's page link and title are there, in the digest's order.
      for (const r of list) expect(parsed.links).toContain(`https://news.example.org/releases/${r.id}`);
      // Each title once, plus the preheader that starts with the first.
      expect(parsed.texts.filter((t) => t.startsWith("Release ")).length).toBe(n + 1);
      expect(a.html).not.toMatch(/HX[0-9a-f]+X|HZ[0-9a-f]+Z/);
    }
  });

  it("a brand with a logo, a weekly digest, a reader in another zone: the same mail as a whole render", async () => {
    const logo: Brand = { ...brand, color: "#c0392b", logoUrl: "https://news.example.org/logo.png?a=1&b=2" };
    const list = items(7, "logo");
    const a = await renderDigest(logo, "fr", "weekly", list);
    const f = await renderDigestFull(logo, "fr", "weekly", list);
    expect(personalise(a, reader("fr", "Asia/Kolkata"))).toEqual(personalise(f, reader("fr", "Asia/Kolkata")));
    expect(a.html).toContain("logo.png?a=1&amp;b=2");
  });

  it("templates warmed at start-up: a digest in every language then needs no MJML at all", async () => {
    const fresh: Brand = { ...brand, color: "#117a65" };
    const before = { ...assemblyStats, renders: templateStats.mjmlRenders };
    await warmDigestTemplates(fresh);
    // Three layouts and six item templates (with and without a summary's row), once each.
    expect(templateStats.mjmlRenders - before.renders).toBe(9);
    expect(assemblyStats.layoutCompiles - before.layoutCompiles).toBe(3);
    expect(assemblyStats.templateCompiles - before.templateCompiles).toBe(6);
    const warm = templateStats.mjmlRenders;
    for (const lang of ["en", "fr", "es"] as const) {
      const list = items(6, `warm-${lang}`);
      const a = await renderDigest(fresh, lang, "weekly", list);
      expect(personalise(a, reader(lang, "UTC")).html).toBe(
        personalise(await renderDigestFull(fresh, lang, "weekly", list), reader(lang, "UTC")).html,
      );
    }
    // Three whole renders for the comparison above, none for the assembled digests.
    expect(templateStats.mjmlRenders - warm).toBe(3);
    expect(assemblyStats.wholeRenders).toBe(before.wholeRenders);
  });

  it("fills each release in once: a second digest with the same releases needs no MJML and no filling", async () => {
    const list = items(20, "reuse");
    await renderDigest(brand, "fr", "weekly", list);
    const before = { ...assemblyStats, renders: templateStats.mjmlRenders };
    const again = await renderDigest(brand, "fr", "weekly", [...list].reverse().slice(0, 12));
    expect(templateStats.mjmlRenders).toBe(before.renders);
    expect(assemblyStats.itemFills).toBe(before.itemFills);
    expect(assemblyStats.itemHits - before.itemHits).toBe(12);
    expect(personalise(again, reader("fr", "UTC")).html).toBe(
      personalise(await renderDigestFull(brand, "fr", "weekly", [...list].reverse().slice(0, 12)), reader("fr", "UTC"))
        .html,
    );
  });

  it("a new revision (other title) is compiled anew, never served from the old one", async () => {
    const [r] = items(1, "rev");
    await renderDigest(brand, "en", "daily", [r!]);
    const changed = { ...r!, title: "Corrected title" };
    const html = personalise(await renderDigest(brand, "en", "daily", [changed]), reader("en", "UTC")).html;
    expect(html).toContain("Corrected title");
    expect(html).not.toContain(r!.title.replace(/&/g, "&amp;").replace(/</g, "&lt;").slice(0, 20));
  });

  it("the preview line from the first titles only: the same as from all of them, spaces and all", async () => {
    // Titles long in characters but short once their spaces are folded, then long ones: the
    // preview must read as many as the whole line would show.
    const list = items(12, "preview").map((r, i) => ({
      ...r,
      title: i < 4 ? `${" \n\t ".repeat(60)}T${i}${" ".repeat(200)}` : `${r.title} ${"word ".repeat(i)}`,
    }));
    for (const n of [1, 3, 5, 12]) {
      const a = personalise(await renderDigest(brand, "en", "daily", list.slice(0, n)), reader("en", "UTC"));
      const f = personalise(await renderDigestFull(brand, "en", "daily", list.slice(0, n)), reader("en", "UTC"));
      expect(a.html).toBe(f.html);
    }
  });

  it("release text cannot forge a marker of the compiled pieces", async () => {
    const list = items(3, "forge").map((r) => ({ ...r, title: `HZ0000Zdate Z HXffffXgreetingX ${r.title}` }));
    const a = personalise(await renderDigest(brand, "en", "daily", list), reader("en", "UTC"));
    const f = personalise(await renderDigestFull(brand, "en", "daily", list), reader("en", "UTC"));
    expect(a.html).toBe(f.html);
  });
});
