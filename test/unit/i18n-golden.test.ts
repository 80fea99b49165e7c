// Every surface a reader sees, rendered in en, fr and es, compared byte for byte with the
// renderings kept in test/fixtures/i18n/: emails (alert, correction, digests, confirmation), the
// public pages that render without a server (layout, preference fields, feeds list, release
// page, 404 / 410) and the three feed formats, plus every string of every table. A change of
// wording, typography or markup fails here; when it is meant, `npx vitest run -u` this file and
// review the diff of the fixtures.
import { describe, expect, it } from "vitest";
import { testConfig } from "../../src/config/index.ts";
import { renderAtom } from "../../src/feeds/atom.ts";
import { feedMeta } from "../../src/feeds/item.ts";
import { renderJsonFeed } from "../../src/feeds/json-feed.ts";
import { renderRss } from "../../src/feeds/rss.ts";
import { preferenceFields } from "../../src/http/pages/forms.ts";
import { renderFeedsPage, renderGonePage, renderReleasePage } from "../../src/http/pages/feed-pages.ts";
import { page } from "../../src/http/pages/layout.ts";
import { FEED_STRINGS } from "../../src/i18n/feeds.ts";
import { LANGUAGES } from "../../src/i18n/languages.ts";
import { MAIL_STRINGS } from "../../src/i18n/mail.ts";
import { CONFIRM_STRINGS, PAGE_STRINGS } from "../../src/i18n/pages.ts";
import { defaultTaxonomy } from "../../src/releases/taxonomy.ts";
import {
  renderAlert,
  renderConfirmation,
  renderCorrection,
  renderDigest,
  renderDigestFull,
} from "../../src/templates/messages.ts";
import { personalise } from "../../src/templates/personalise.ts";
import type { Brand, RenderedMessage } from "../../src/templates/render.ts";
import { release } from "../helpers/feeds.ts";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const taxonomy = defaultTaxonomy();
const config = testConfig({ publicUrl: "https://news.example.org", websubHub: "https://hub.example.net/" });
const brand: Brand = {
  orgName: config.orgNames.en,
  orgNames: config.orgNames,
  color: "#0033a0",
  publicUrl: "https://news.example.org",
  taxonomy,
};

const TITLES = { en: "Border officials trained", fr: "Des agents formés", es: "Agentes formados" } as const;

/** A release in `lang` with two contacts; `corrected`: its second revision, with a correction note. */
function sample(lang: (typeof LANGUAGES)[number], id: string, corrected = false) {
  const input = {
    id,
    title: TITLES[lang],
    language: lang,
    publishedAt: "2026-11-27T09:00:00Z",
    topics: ["counter-trafficking", "health"],
    regions: ["djibouti", "east-and-horn-of-africa"],
    image: { url: "https://img.example.org/a.jpg", alt: "Officials" },
    contacts: [
      { name: "Amina Idriss", office: "IOM Djibouti", phone: "+253 21 00 00 00", email: "aidriss@example.org" },
      { name: "Jean Dupont", email: "jdupont@example.org" },
    ],
  };
  const first = release(input, { id });
  return corrected
    ? release(input, {
        id,
        revision: 2,
        previous: first,
        correction: "The date was wrong.",
        now: "2026-11-28T11:00:00Z",
      })
    : first;
}

/** The message as a reader gets it (slots filled: greeting, dates, links), subject, text and HTML. */
function mail(m: RenderedMessage, language: (typeof LANGUAGES)[number], name?: string): string {
  const p = personalise(m, {
    ...(name ? { name } : {}),
    language,
    timezone: "Asia/Tokyo",
    unsubscribeUrl: "https://news.example.org/unsubscribe?token=u",
    preferencesUrl: "https://news.example.org/preferences?token=p",
    confirmUrl: "https://news.example.org/confirm?token=c",
  });
  return `Subject: ${p.subject}\n\n${p.text}\n\n${p.html}\n`;
}
const golden = (name: string) => `../fixtures/i18n/${name}`;

describe("every surface renders as recorded", () => {
  for (const lang of LANGUAGES) {
    it(`emails in ${lang}`, async () => {
      const r = sample(lang, `a-${lang}`);
      const c = sample(lang, `a-${lang}`, true);
      const other = { ...sample(lang, `b-${lang}`), topics: ["health"], regions: [] };
      await expect(mail(await renderAlert(brand, lang, r), lang, "Nour")).toMatchFileSnapshot(
        golden(`mail-alert.${lang}.txt`),
      );
      await expect(mail(await renderCorrection(brand, lang, c), lang)).toMatchFileSnapshot(
        golden(`mail-correction.${lang}.txt`),
      );
      await expect(mail(await renderDigest(brand, lang, "daily", [r, other]), lang, "Nour")).toMatchFileSnapshot(
        golden(`mail-digest-daily.${lang}.txt`),
      );
      await expect(mail(await renderDigestFull(brand, lang, "weekly", [r]), lang)).toMatchFileSnapshot(
        golden(`mail-digest-weekly.${lang}.txt`),
      );
      await expect(mail(await renderConfirmation(brand, lang), lang)).toMatchFileSnapshot(
        golden(`mail-confirmation.${lang}.txt`),
      );
    });

    it(`pages in ${lang}`, async () => {
      const r = sample(lang, `a-${lang}`, true);
      const facets = {
        topics: [{ value: "health", label: taxonomy.label("topics", "health", lang) }],
        regions: [{ value: "djibouti", label: taxonomy.label("regions", "djibouti", lang) }],
      };
      const pages = [
        page({
          lang,
          title: PAGE_STRINGS[lang].preferencesTitle,
          body: preferenceFields(PAGE_STRINGS[lang], { language: lang, topics: ["health"] }, facets, "UTC"),
          orgName: config.orgNames[lang],
          brandColor: config.brandColor,
          languageLinks: { en: "/?lang=en", fr: "/?lang=fr", es: "/?lang=es" },
          current: "subscribe",
        }),
        renderFeedsPage(config, ["all", "topics/health", "regions/djibouti", "languages/fr"], lang, taxonomy),
        renderReleasePage(
          config,
          r,
          { translations: [{ id: "other", language: lang === "en" ? "fr" : "en", title: "Other" }] },
          taxonomy,
        ),
        renderGonePage(config, 404, lang),
        renderGonePage(config, 410, lang),
      ];
      await expect(pages.join("\n\n<!-- next page -->\n\n")).toMatchFileSnapshot(golden(`pages.${lang}.txt`));
    });

    it(`feeds of ${lang} releases`, async () => {
      const releases = [sample(lang, `a-${lang}`, true), sample(lang, `b-${lang}`)];
      const meta = feedMeta(config, `languages/${lang}`, releases, taxonomy);
      const feeds = [
        renderRss(meta, releases, NOW),
        renderAtom(meta, releases, NOW),
        renderJsonFeed(meta, releases, NOW),
      ];
      await expect(feeds.join("\n\n")).toMatchFileSnapshot(golden(`feeds.${lang}.txt`));
    });
  }

  it("every string of every table", async () => {
    const tables = { MAIL_STRINGS, PAGE_STRINGS, CONFIRM_STRINGS, FEED_STRINGS };
    const lines: string[] = [];
    for (const [name, table] of Object.entries(tables))
      for (const lang of LANGUAGES)
        for (const [k, v] of strings(table[lang])) lines.push(`${name}.${lang}.${k} = ${JSON.stringify(v)}`);
    await expect(`${lines.join("\n")}\n`).toMatchFileSnapshot(golden("strings.txt"));
  });
});

/** Every string a table entry can produce: functions called with each argument shape the code uses. */
function strings(value: unknown, at = ""): [string, string][] {
  if (typeof value === "string") return [[at, value]];
  if (typeof value === "function") {
    const shapes = [
      ["daily", 1, "IOM"],
      ["weekly", 2, "IOM"],
      ["Organisation internationale (OIM)"],
      [undefined],
      ["Aiko"],
      [3, 7],
    ];
    return shapes.flatMap((args) => {
      try {
        const v = (value as (...a: unknown[]) => unknown)(...args);
        return typeof v === "string" ? [[`${at}(${args.join(",")})`, v] as [string, string]] : [];
      } catch {
        return []; // not this function's argument types
      }
    });
  }
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => strings(v, at ? `${at}.${k}` : k));
  return [];
}
