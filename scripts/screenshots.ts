// Headless Chromium screenshots of what readers see, for a person to look at (not a test):
//   npx tsx scripts/screenshots.ts [OUT_DIR]      (default var/screenshots)
// Starts a throwaway redis-server and Herald's web app on free ports, publishes the sample
// releases (examples/releases/ plus a Spanish translation and a few more for pagination),
// renders an alert and a daily digest in en, fr and es to HTML files, then shoots /, /subscribe,
// release pages (en, fr), /feeds and the mails at 375 and 1280 px wide. Needs `chromium`
// (Debian: apt-get install chromium) and `redis-server` on PATH.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../src/config/index.ts";
import { EXAMPLES_DIR } from "../src/demo.ts";
import { buildApp } from "../src/http/app.ts";
import { brandOf } from "../src/mail/segments.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import { ReleaseService } from "../src/releases/service.ts";
import { createRuntime } from "../src/runtime.ts";
import type { Language } from "../src/i18n/languages.ts";
import { renderAlert, renderDigest } from "../src/templates/messages.ts";
import { personalise } from "../src/templates/personalise.ts";

const OUT = path.resolve(process.argv[2] ?? "var/screenshots");
const WIDTHS = [375, 1280];
const CHROMIUM = process.env.CHROMIUM ?? "chromium";
const READERS: Record<Language, { name: string; timezone: string }> = {
  en: { name: "Amina Hassan", timezone: "Africa/Djibouti" },
  fr: { name: "Claire Dubois", timezone: "Europe/Paris" },
  es: { name: "Lucía Quispe", timezone: "America/Lima" },
};

const SPANISH = {
  id: "obock-centro-reabre",
  translationOf: "obock-migrant-response-centre-reopens",
  title: "El Centro de Respuesta para Migrantes de Obock reabre con más servicios de protección",
  summary:
    "El centro renovado puede acoger a 300 personas y ofrece atención médica, apoyo psicosocial y búsqueda de familiares.",
  dateline: "Obock",
  publishedAt: "2026-11-24T09:00:00Z",
  language: "es",
  topics: ["counter-trafficking", "migrant-protection"],
  regions: ["djibouti"],
  body: "<p>Obock – El Centro de Respuesta para Migrantes de Obock reabrió esta semana tras seis meses de obras. Su capacidad pasa a 300 personas.</p><p>El centro está en la Ruta del Este, que recorren cada año decenas de miles de personas.</p>",
  contacts: [{ name: "Hodan Ali Farah", office: "OIM Yibuti", phone: "+253 77 00 12 34", email: "hfarah@example.org" }],
};

const run = promisify(execFile);

/** Asynchronous on purpose: the Herald server answering Chromium runs in this same process. */
async function shoot(url: string, file: string, width: number): Promise<void> {
  const profile = mkdtempSync(path.join(tmpdir(), "herald-chromium-"));
  try {
    await run(
      CHROMIUM,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        `--window-size=${width},${width < 600 ? 2000 : 1300}`,
        `--screenshot=${file}`,
        url,
      ],
      { timeout: 90_000 },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(`${file}\n`);
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const redisDir = mkdtempSync(path.join(tmpdir(), "herald-screens-redis-"));
  const redis = await startRedisServer({ dir: redisDir, port: await freePort(), appendonly: false });
  const port = await freePort();
  const config = loadConfig({
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    HERALD_PREFIX: "screens",
    SECRET_KEY: "s".repeat(40),
    LOG_LEVEL: "silent",
  });
  const rt = await createRuntime({ config, redisUrl: redis.url });
  const app = await buildApp(rt, { apiToken: "screenshots-token-0123456789" });
  try {
    const svc = new ReleaseService(rt);
    const files = readdirSync(EXAMPLES_DIR)
      .filter((f) => f.endsWith(".json"))
      .sort();
    for (const f of files) await svc.publish(JSON.parse(readFileSync(path.join(EXAMPLES_DIR, f), "utf8")));
    await svc.publish(SPANISH);
    const topics = [
      "health",
      "floods",
      "migration-data",
      "labour-migration",
      "border-management",
      "displacement",
      "resettlement",
      "return-and-reintegration",
      "shelter",
    ];
    const regions = ["ethiopia", "yemen", "niger", "chad", "libya", "sudan", "kenya", "mali", "somalia"];
    for (let i = 0; i < topics.length; i++) {
      await svc.publish({
        id: `sample-${i}`,
        title: `IOM and partners expand ${topics[i]!.replace(/-/g, " ")} support in ${regions[i]![0]!.toUpperCase()}${regions[i]!.slice(1)}`,
        summary: "A short sample release so the front door has more than one page.",
        body: "<p>Sample body.</p>",
        dateline: "Geneva",
        publishedAt: new Date(Date.parse("2026-11-10T09:00:00Z") + i * 86_400_000).toISOString(),
        topics: [topics[i]!],
        regions: [regions[i]!],
      });
    }
    await app.listen({ port, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${port}`;

    // Mail, rendered as the workers would, personalised for one reader per language.
    const brand = brandOf(config, await rt.taxonomy.current());
    const original = (await rt.releases.get("obock-migrant-response-centre-reopens"))!;
    const versions: Record<Language, string> = { en: original.id, fr: "obock-centre-reouverture", es: SPANISH.id };
    const digestItems = await rt.releases.newest("all", 6);
    const mails: string[] = [];
    for (const lang of ["en", "fr", "es"] as const) {
      const reader = {
        ...READERS[lang],
        language: lang,
        unsubscribeUrl: `${base}/unsubscribe?token=sample`,
        preferencesUrl: `${base}/preferences?token=sample`,
      };
      const alert = personalise(await renderAlert(brand, lang, (await rt.releases.get(versions[lang]))!), reader);
      const picks = digestItems
        .filter((r) => r.language === "en" || r.language === lang)
        .filter((r) => !(r.id === original.id && lang !== "en"));
      const digest = personalise(await renderDigest(brand, lang, "daily", picks), reader);
      for (const [kind, m] of [
        ["alert", alert],
        ["digest", digest],
      ] as const) {
        const file = path.join(OUT, `mail-${kind}-${lang}.html`);
        writeFileSync(file, m.html);
        writeFileSync(path.join(OUT, `mail-${kind}-${lang}.txt`), `Subject: ${m.subject}\n\n${m.text}`);
        mails.push(file);
      }
    }

    const pages: [string, string][] = [
      ["front-en", "/?lang=en"],
      ["front-fr", "/?lang=fr"],
      ["front-es-page2", "/?lang=es&page=2"],
      ["subscribe-en", "/subscribe?lang=en"],
      ["subscribe-fr", "/subscribe?lang=fr"],
      ["release-en", `/releases/${original.id}`],
      ["release-fr", "/releases/obock-centre-reouverture"],
      ["feeds-es", "/feeds?lang=es"],
      ["notfound-fr", "/releases/nothing-here?lang=fr"],
    ];
    for (const width of WIDTHS) {
      for (const [name, url] of pages) await shoot(`${base}${url}`, path.join(OUT, `${name}-${width}.png`), width);
      for (const file of mails) await shoot(`file://${file}`, file.replace(/\.html$/, `-${width}.png`), width);
    }
  } finally {
    await app.close();
    for (const key of await rt.redis.keys("screens:*")) await rt.redis.del(key);
    await rt.close();
    await redis.stop();
    rmSync(redisDir, { recursive: true, force: true });
  }
}

await main();
