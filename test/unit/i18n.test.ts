// Every word a reader sees exists in en, fr and es, in every string table of src/i18n/ (mail,
// pages, the confirm page, feed items), French copy follows French typography, and the
// organisation's name takes the right article. This is the check that fails when a key is
// missing in one language (and tsc fails first: see the last test of "string tables").
import { describe, expect, it } from "vitest";
import { FEED_STRINGS, type FeedStrings } from "../../src/i18n/feeds.ts";
import type { Translations } from "../../src/i18n/languages.ts";
import { MAIL_STRINGS } from "../../src/i18n/mail.ts";
import { deEs, deFr, theEn } from "../../src/i18n/org-name.ts";
import { CONFIRM_STRINGS, PAGE_STRINGS } from "../../src/i18n/pages.ts";
import { defaultTaxonomy } from "../../src/releases/taxonomy.ts";
import { renderAlert, renderConfirmation, renderDigest } from "../../src/templates/messages.ts";
import type { Brand } from "../../src/templates/render.ts";
import { release } from "../helpers/feeds.ts";

const LANGS = ["en", "fr", "es"] as const;
const SAMPLE_ARGS = ["Organisation internationale pour les migrations (OIM)", 2, "Nour"];

/** Every string a table can produce: functions called with sample arguments, nested maps walked. */
function strings(value: unknown, at = ""): [string, string][] {
  if (typeof value === "string") return [[at, value]];
  if (typeof value === "function") {
    const out: [string, string][] = [];
    // Each frequency / count / name shape the templates use.
    for (const args of [["daily", 1, "IOM"], ["weekly", 2, "IOM"], [...SAMPLE_ARGS], [undefined], ["Aiko"], [3, 7]]) {
      try {
        const v = (value as (...a: unknown[]) => unknown)(...args);
        if (typeof v === "string") out.push([`${at}(${args.join(",")})`, v]);
      } catch {
        // Not this function's argument types: another set fits.
      }
    }
    if (out.length === 0) throw new Error(`${at}: no sample arguments give a string`);
    return out;
  }
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => strings(v, at ? `${at}.${k}` : k));
  return [];
}

/** The key paths of a table, values aside. */
function shape(value: unknown, at = ""): string[] {
  if (value && typeof value === "object" && typeof value !== "function")
    return Object.entries(value).flatMap(([k, v]) => shape(v, at ? `${at}.${k}` : k));
  return [`${at}:${typeof value}`];
}

const TABLES: [string, Record<string, unknown>][] = [
  ["i18n/mail.ts MAIL_STRINGS", MAIL_STRINGS],
  ["i18n/pages.ts PAGE_STRINGS", PAGE_STRINGS],
  ["i18n/pages.ts CONFIRM_STRINGS", CONFIRM_STRINGS],
  ["i18n/feeds.ts FEED_STRINGS", FEED_STRINGS],
];

describe("string tables", () => {
  for (const [name, table] of TABLES) {
    it(`${name}: every key in every language, none empty`, () => {
      expect(Object.keys(table).sort()).toEqual([...LANGS].sort());
      const en = shape(table.en).sort();
      expect(en.length).toBeGreaterThan(2);
      for (const l of LANGS) {
        expect(shape(table[l]).sort(), `${name} ${l}`).toEqual(en);
        for (const [k, v] of strings(table[l])) expect(v.trim(), `${name} ${l}.${k}`).not.toBe("");
      }
    });

    it(`${name}: French has a non-breaking space before : ; ! ? and never a plain one`, () => {
      for (const [k, v] of strings(table.fr)) {
        const bad = /(^|[^\u00a0\u202f])[:;!?](\s|$)/.exec(v);
        expect(bad, `fr.${k} = ${JSON.stringify(v)}`).toBeNull();
      }
    });
  }

  it("the test can fail: a missing key and a plain space before a colon are caught", () => {
    const broken = { ...PAGE_STRINGS.fr } as Record<string, unknown>;
    delete broken.contacts;
    expect(shape(broken).sort()).not.toEqual(shape(PAGE_STRINGS.en).sort());
    expect(/(^|[^\u00a0\u202f])[:;!?](\s|$)/.test("Flux : x")).toBe(true);
  });

  it("a table missing a language, or a language missing a key, does not compile (npx tsc checks this file)", () => {
    // @ts-expect-error no "es"
    const noSpanish: Translations<FeedStrings> = { en: FEED_STRINGS.en, fr: FEED_STRINGS.fr };
    // @ts-expect-error fr has no "colon"
    const noColon: Translations<FeedStrings> = { ...FEED_STRINGS, fr: { contact: "", contacts: "", correction: "" } };
    expect([noSpanish, noColon]).toHaveLength(2);
  });
});

describe("the organisation's name after 'de'", () => {
  it("French elides before a vowel and takes the article of a feminine name", () => {
    expect(deFr("Organisation internationale pour les migrations (OIM)")).toBe(
      "de l’Organisation internationale pour les migrations (OIM)",
    );
    expect(deFr("International Organization for Migration")).toBe("de l’International Organization for Migration");
    expect(deFr("Médecins Sans Frontières")).toBe("de Médecins Sans Frontières");
    expect(deFr("Fédération internationale")).toBe("de la Fédération internationale");
    expect(deFr("Croix-Rouge")).toBe("de Croix-Rouge");
    expect(deFr("Commission européenne")).toBe("de la Commission européenne");
    expect(deFr("le Haut-Commissariat")).toBe("du Haut-Commissariat");
  });
  it("English: 'the' before a common-noun name, none before a proper name", () => {
    expect(theEn("International Organization for Migration")).toBe("the International Organization for Migration");
    expect(theEn("The Carter Center")).toBe("The Carter Center");
    expect(theEn("Oxfam")).toBe("Oxfam");
  });
  it("Spanish: 'de la' for a feminine name, 'del' for a masculine one", () => {
    expect(deEs("Organización Internacional para las Migraciones (OIM)")).toBe(
      "de la Organización Internacional para las Migraciones (OIM)",
    );
    expect(deEs("Fondo de las Naciones Unidas")).toBe("del Fondo de las Naciones Unidas");
    expect(deEs("Médicos Sin Fronteras")).toBe("de Médicos Sin Fronteras");
  });
});

describe("mail wording", () => {
  const brand: Brand = {
    orgName: "International Organization for Migration",
    orgNames: {
      en: "International Organization for Migration",
      fr: "Organisation internationale pour les migrations (OIM)",
      es: "Organización Internacional para las Migraciones (OIM)",
    },
    color: "#0033a0",
    publicUrl: "https://news.example.org",
  };
  it("the English digest subject says today / this week, never 'this day'", async () => {
    const items = [release({ id: "a" }, { id: "a" }), release({ id: "b" }, { id: "b" })];
    expect((await renderDigest(brand, "en", "daily", items)).subject).toBe(
      "International Organization for Migration: 2 new releases today",
    );
    expect((await renderDigest(brand, "en", "weekly", items.slice(0, 1))).subject).toBe(
      "International Organization for Migration: 1 new release this week",
    );
    const fr = await renderDigest(brand, "fr", "daily", items);
    expect(fr.subject).toBe(
      "Organisation internationale pour les migrations (OIM)\u00a0: 2 nouveaux communiqués aujourd’hui",
    );
    expect(fr.text).toContain("abonné·e aux actualités de l’Organisation internationale pour les migrations (OIM).");
    expect(fr.text).not.toMatch(/de International|[^\u00a0]:\s+HX/);
  });
  it("the confirmation mail does not claim the reader subscribed", async () => {
    for (const lang of LANGS) {
      const m = await renderConfirmation(brand, lang);
      expect(m.text, lang).not.toMatch(/because you subscribed|parce que vous êtes abonné|porque se suscribió/);
      expect(m.html, lang).not.toMatch(/because you subscribed|parce que vous êtes abonné|porque se suscribió/);
    }
    expect((await renderConfirmation(brand, "en")).text).toContain(
      "because someone asked to subscribe this address to news from the International Organization for Migration.",
    );
    expect((await renderConfirmation(brand, "fr")).subject).toBe(
      "Confirmez votre abonnement aux actualités de l’Organisation internationale pour les migrations (OIM)",
    );
  });
});

describe("labels in mail", () => {
  const brand: Brand = {
    orgName: "IOM",
    color: "#0033a0",
    publicUrl: "https://news.example.org",
    taxonomy: defaultTaxonomy(),
  };
  it("alerts name topics and regions in the reader's language; digests head sections with them", async () => {
    const r = release({ id: "a", regions: ["djibouti", "east-and-horn-of-africa"] }, { id: "a" });
    const fr = await renderAlert(brand, "fr", r);
    expect(fr.text).toContain(
      "Thèmes\u00a0: Lutte contre la traite · Régions\u00a0: Djibouti, Afrique de l’Est et Corne de l’Afrique",
    );
    expect(fr.html).toContain("Lutte contre la traite");
    const es = await renderDigest(brand, "es", "daily", [r, release({ id: "b", topics: ["health"] }, { id: "b" })]);
    // Sections in Spanish label order: "Lucha contra la trata" before "Salud".
    expect(es.text.indexOf("LUCHA CONTRA LA TRATA")).toBeGreaterThan(0);
    expect(es.text.indexOf("SALUD")).toBeGreaterThan(es.text.indexOf("LUCHA CONTRA LA TRATA"));
    expect(es.text + es.html).not.toMatch(/counter.trafficking|COUNTER/i);
  });
});
