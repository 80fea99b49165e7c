// The front door, GET /: the latest public releases (newest first, ?page=N), a way to
// subscribe and the feeds, in the visitor's language (?lang=, else Accept-Language, else
// English). One entry per story: a visitor reading French sees the French version of a
// release translated into French, the original otherwise. Server-rendered, no script.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { discoveryLinks } from "../feeds/discovery.ts";
import { formatDate } from "../clock.ts";
import { PAGE_CSP } from "./pages/feed-pages.ts";
import type { Release } from "../releases/model.ts";
import { escapeHtml } from "../releases/sanitize.ts";
import type { Taxonomy } from "../releases/taxonomy.ts";
import type { Runtime } from "../runtime.ts";
import { LANGUAGES, type Language, pickLanguage } from "../i18n/languages.ts";
import { FEED_MAX_AGE_S } from "./feed-answer.ts";
import { page, withLang } from "./pages/layout.ts";
import { PAGE_STRINGS, type PageStrings } from "../i18n/pages.ts";

/** What the front door reads: the public releases, their labels, the config. */
type FrontDeps = Pick<Runtime, "releases" | "taxonomy" | "config">;

/** Releases per page of the front door. */
export const FRONT_PAGE_SIZE = 10;
/** Pages beyond this are refused as bad input (a page number is not a way to scan Redis). */
const MAX_PAGE = 10_000;

/** ?page: absent = 1; a whole number 1..MAX_PAGE in plain digits; anything else is null. */
export function parsePage(raw: unknown): number | null {
  if (raw === undefined) return 1;
  if (typeof raw !== "string" || !/^[1-9]\d{0,4}$/.test(raw)) return null;
  const n = Number(raw);
  return n <= MAX_PAGE ? n : null;
}

/** The version of each story a reader of `lang` should see, keeping the order of `page`. */
async function versionsFor(rt: Pick<Runtime, "releases">, releases: Release[], lang: Language): Promise<Release[]> {
  const out: Release[] = [];
  const seen = new Set<string>();
  for (const r of releases) {
    const root = r.translationOf ?? r.id;
    if (seen.has(root)) continue;
    seen.add(root);
    if (r.language === lang) {
      out.push(r);
      continue;
    }
    const family = [
      ...(await rt.releases.translations(root)),
      ...(r.translationOf ? await rt.releases.getMany([root]) : []),
    ];
    const mine = family.find((x) => x.language === lang && x.status === "published");
    out.push(mine ?? r);
  }
  return out;
}

function item(r: Release, ui: Language, taxonomy: Taxonomy, timeZone: string): string {
  const tags = [
    ...r.topics.map((x) => taxonomy.label("topics", x, ui)),
    ...r.regions.map((x) => taxonomy.label("regions", x, ui)),
  ];
  const other = r.language !== ui ? ` lang="${escapeHtml(r.language)}"` : "";
  return `<li${other}>
<h2><a href="/releases/${encodeURIComponent(r.id)}">${escapeHtml(r.title)}</a></h2>
<p class="meta">${r.dateline ? `${escapeHtml(r.dateline)} — ` : ""}<time datetime="${escapeHtml(r.publishedAt)}">${escapeHtml(formatDate(r.publishedAt, ui, timeZone))}</time></p>
${r.summary ? `<p>${escapeHtml(r.summary)}</p>` : ""}
${tags.length ? `<p class="tags" lang="${ui}">${tags.map((x) => escapeHtml(x)).join(" · ")}</p>` : ""}
</li>`;
}

export const frontRoutes: FastifyPluginAsync<{ rt: FrontDeps }> = async (app, { rt }) => {
  app.get("/", frontDoor(rt));
};

type FrontReq = FastifyRequest<{ Querystring: { page?: unknown; lang?: unknown } }>;

/** GET /: page ?page of the public releases; a bad or too high page number answers 400 or 404. */
function frontDoor(rt: FrontDeps) {
  return async (req: FrontReq, reply: FastifyReply) => {
    const lang = pickLanguage(req.query.lang, undefined, req.headers["accept-language"]);
    const t = PAGE_STRINGS[lang];
    const n = parsePage(req.query.page);
    const wantsJson = (req.headers.accept ?? "").startsWith("application/json");
    if (n === null) {
      const issue = { path: "page", message: t.badPage };
      if (wantsJson)
        return reply.code(400).send({
          error: `invalid page ${JSON.stringify(String(req.query.page).slice(0, 40))}: ${t.badPage}`,
          issues: [issue],
        });
      return answer(
        rt,
        reply,
        400,
        lang,
        t.errorTitle,
        `<p class="error">${escapeHtml(t.badPage)}</p><p><a href="${escapeHtml(withLang("/", lang))}">${escapeHtml(t.backHome)}</a></p>`,
      );
    }
    const total = await rt.releases.countPublic("all");
    const pages = Math.max(1, Math.ceil(total / FRONT_PAGE_SIZE));
    if (n > pages) {
      if (wantsJson)
        return reply
          .code(404)
          .send({ error: t.pageNotFound(pages), issues: [{ path: "page", message: t.pageNotFound(pages) }] });
      return answer(
        rt,
        reply,
        404,
        lang,
        t.notFoundTitle,
        `<p>${escapeHtml(t.pageNotFound(pages))}</p><p><a href="${escapeHtml(withLang("/", lang))}">${escapeHtml(t.backHome)}</a></p>`,
      );
    }
    const body = await homeBody(rt, lang, n, pages);
    const title = n > 1 ? `${t.homeTitle} — ${t.pageOf(n, pages)}` : t.homeTitle;
    return answer(rt, reply, 200, lang, title, body, { page: n });
  };
}

/** Page `n` of `pages`: the intro, the ways to subscribe and follow, the releases and the page links. */
async function homeBody(rt: FrontDeps, lang: Language, n: number, pages: number): Promise<string> {
  const t = PAGE_STRINGS[lang];
  const [releases, taxonomy] = await Promise.all([
    rt.releases.newest("all", FRONT_PAGE_SIZE, (n - 1) * FRONT_PAGE_SIZE),
    rt.taxonomy.current(),
  ]);
  const shown = await versionsFor(rt, releases, lang);
  const org = rt.config.orgNames[lang];
  const list = shown.length
    ? `<ol class="releases">\n${shown.map((r) => item(r, lang, taxonomy, rt.config.defaultTimezone)).join("\n")}\n</ol>`
    : `<p>${escapeHtml(t.noReleases)}</p>`;
  return `<p>${escapeHtml(t.homeIntro(org))}</p>
<p><a class="button" href="${escapeHtml(withLang("/subscribe", lang))}">${escapeHtml(t.subscribeCall)}</a></p>
<p class="note">${escapeHtml(t.followIntro)} <a href="/feeds/rss.xml">RSS</a> · <a href="/feeds/atom.xml">Atom</a> · <a href="/feeds/feed.json">JSON Feed</a> · <a href="${escapeHtml(withLang("/feeds", lang))}">${escapeHtml(t.navFeeds)}</a></p>
${list}
${pageNav(t, lang, n, pages)}`;
}

/** Newer, "page n of m", older: nothing when there is one page. */
function pageNav(t: PageStrings, lang: Language, n: number, pages: number): string {
  return pages > 1
    ? `<nav class="pages" aria-label="${escapeHtml(t.pagination)}">${n > 1 ? `<a rel="prev" href="${escapeHtml(withLang(n === 2 ? "/" : `/?page=${n - 1}`, lang))}">← ${escapeHtml(t.newer)}</a>` : "<span></span>"}<span>${escapeHtml(t.pageOf(n, pages))}</span>${n < pages ? `<a rel="next" href="${escapeHtml(withLang(`/?page=${n + 1}`, lang))}">${escapeHtml(t.older)} →</a>` : "<span></span>"}</nav>`
    : "";
}

/** A page of the front door, with its headers: cached when 200, never otherwise. */
function answer(
  rt: Pick<Runtime, "config">,
  reply: FastifyReply,
  status: number,
  lang: Language,
  title: string,
  body: string,
  extra: { page?: number } = {},
) {
  return reply
    .code(status)
    .type("text/html; charset=utf-8")
    .header("content-security-policy", PAGE_CSP)
    .header("x-content-type-options", "nosniff")
    .header("vary", "Accept-Language")
    .header("cache-control", status === 200 ? `public, max-age=${FEED_MAX_AGE_S}` : "no-store")
    .send(
      page({
        lang,
        title,
        body,
        head: discoveryLinks(rt.config),
        orgName: rt.config.orgNames[lang],
        brandColor: rt.config.brandColor,
        current: "home",
        languageLinks: Object.fromEntries(
          LANGUAGES.map((l) => [l, withLang(extra.page && extra.page > 1 ? `/?page=${extra.page}` : "/", l)]),
        ),
      }),
    );
}
