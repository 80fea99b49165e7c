// The reader's pages: subscribe (double opt-in), confirm, preferences and unsubscribe.
// GET never changes state: mail scanners follow every link in a message. The confirm link shows
// a button that POSTs; unsubscribe needs a POST too, which is also what RFC 8058 one-click
// sends, and answers 200 without redirect. A query parameter given twice is a 400 (query.ts).
// /subscribe answers the same whatever state the address is in (no enumeration) and is rate
// limited per IP; the service sends at most one confirmation per mailbox per hour, however the
// address is spelled (model.ts emailKey, mailboxKey).
import { discoveryLinks } from "../feeds/discovery.ts";
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { HeraldError, invalid } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import type { Language } from "../i18n/languages.ts";
import type { Subscriber } from "../subscribers/model.ts";
import { readerLinks } from "../subscribers/links.ts";
import { type ConfirmOutcome, confirmState, type SubscriberDeps, SubscriberService } from "../subscribers/service.ts";
import { readToken, requireSecret, verifyToken } from "../subscribers/tokens.ts";
import { escapeHtml } from "../releases/sanitize.ts";
import { strictFormBodies } from "./form-body.ts";
import { singleValuedQuery } from "./query.ts";
import { offeredFacets, preferenceFields, readForm, valuesOf } from "./pages/forms.ts";
import { languageLinksFor, page } from "./pages/layout.ts";
import { pickLanguage } from "../i18n/languages.ts";
import { CONFIRM_STRINGS, PAGE_STRINGS } from "../i18n/pages.ts";

/** Subscribe attempts per IP. */
export const SUBSCRIBE_LIMIT = { max: 10, timeWindow: "1 minute" };

/** The subscriber service's part of the runtime, and the releases the forms offer topics from. */
type PeopleDeps = SubscriberDeps & Pick<Runtime, "releases">;

type Req = FastifyRequest<{ Querystring: { token?: string; lang?: string } }>;

export const peopleRoutes: FastifyPluginAsync<{ rt: PeopleDeps; secretKey?: string }> = async (
  app,
  { rt, secretKey },
) => {
  strictFormBodies(app);
  singleValuedQuery(app);
  // Counted in Redis, so the limit holds across every web process behind the load balancer.
  await app.register(rateLimit, {
    global: false,
    redis: rt.redis,
    nameSpace: rt.key("ratelimit", ""),
    skipOnError: false,
  });
  const pages = new ReaderPages(rt, secretKey);
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => pages.errorPage(err, req, reply));
  subscribeRoutes(app, pages);
  confirmRoutes(app, pages);
  preferencesRoutes(app, pages);
  unsubscribeRoutes(app, pages);
};

function subscribeRoutes(app: FastifyInstance, p: ReaderPages): void {
  app.get("/subscribe", async (req: Req, reply) => {
    const lang = langOf(req);
    const t = PAGE_STRINGS[lang];
    const body = `<p>${escapeHtml(t.subscribeIntro(p.rt.config.orgNames[lang]))}</p>
<form method="post" action="/subscribe?lang=${lang}">
<label for="email">${escapeHtml(t.email)}</label>
<input type="email" id="email" name="email" required maxlength="254">
${preferenceFields(t, { language: lang }, await p.facets(lang), p.rt.config.defaultTimezone)}
<button type="submit">${escapeHtml(t.subscribeButton)}</button>
</form>
<script>try{var z=Intl.DateTimeFormat().resolvedOptions().timeZone;if(z)document.getElementById("timezone").value=z}catch(e){}</script>`;
    return p.html(reply, lang, t.subscribeTitle, body);
  });

  app.post("/subscribe", { config: { rateLimit: SUBSCRIBE_LIMIT } }, async (req: Req, reply) => {
    p.key(); // fail before sending anything if links cannot be signed
    await p.service.subscribe(readForm(req.body));
    const lang = langOf(req);
    const t = PAGE_STRINGS[lang];
    if (wantsJson(req)) return reply.code(202).send({ ok: true, message: t.checkInbox });
    return p.html(reply, lang, t.checkInboxTitle, `<p>${escapeHtml(t.checkInbox)}</p>`, 202);
  });
}

function confirmRoutes(app: FastifyInstance, p: ReaderPages): void {
  // The link in the confirmation email. A GET only shows the button: mail scanners open every
  // link, and a scanner's visit must not subscribe anyone.
  app.get("/confirm", async (req: Req, reply) => {
    const { s, issuedAt } = await p.confirmTarget(req);
    const state = confirmState(s, issuedAt);
    if (state !== "pending") return p.confirmAnswer(req, reply, s, state);
    const lang = langOf(req, s);
    const c = CONFIRM_STRINGS[lang];
    const token = escapeHtml(req.query.token ?? "");
    if (wantsJson(req))
      return reply
        .header("cache-control", "no-store")
        .send({ ok: false, status: "pending", message: "POST this URL to confirm" });
    const body = `<p>${escapeHtml(c.question(s.email))}</p>
<form method="post" action="/confirm${tokenQuery(req)}&amp;lang=${lang}"><input type="hidden" name="token" value="${token}"><button type="submit">${escapeHtml(c.button)}</button></form>`;
    return p.html(reply, lang, c.title, body);
  });

  app.post("/confirm", async (req: Req, reply) => {
    const { s, issuedAt } = await p.confirmTarget(req);
    const { subscriber, outcome } = await p.service.confirm(s.id, issuedAt);
    return p.confirmAnswer(req, reply, subscriber, outcome);
  });
}

function preferencesRoutes(app: FastifyInstance, p: ReaderPages): void {
  app.get("/preferences", async (req: Req, reply) => {
    const s = await p.subscriberFor(req, "manage");
    if (s.status === "unsubscribed") return p.unsubscribedPage(req, reply, s);
    return p.preferencesPage(req, reply, s, "");
  });

  app.post("/preferences", async (req: Req, reply) => {
    const current = await p.subscriberFor(req, "manage");
    if (current.status === "unsubscribed") return p.unsubscribedPage(req, reply, current);
    const s = await p.service.updatePreferences(current.id, readForm(req.body));
    if (wantsJson(req)) return reply.send({ ok: true, subscriber: valuesOf(s) });
    // Shown in the language just chosen.
    return p.preferencesPage(req, reply, s, PAGE_STRINGS[s.language].saved, s.language);
  });
}

function unsubscribeRoutes(app: FastifyInstance, p: ReaderPages): void {
  app.get("/unsubscribe", async (req: Req, reply) => {
    const s = await p.subscriberFor(req, "manage");
    const lang = langOf(req, s);
    const t = PAGE_STRINGS[lang];
    const body = `<p>${escapeHtml(t.unsubscribeQuestion(s.email))}</p>
<form method="post" action="/unsubscribe${tokenQuery(req)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">${escapeHtml(t.unsubscribeButton)}</button></form>`;
    return p.html(reply, lang, t.unsubscribeTitle, body);
  });

  app.post("/unsubscribe", async (req: Req, reply) => {
    const s = await p.service.unsubscribe((await p.subscriberFor(req, "manage")).id);
    const lang = langOf(req, s);
    const t = PAGE_STRINGS[lang];
    if (wantsJson(req)) return reply.send({ ok: true });
    return p.html(reply, lang, t.unsubscribedTitle, `<p>${escapeHtml(t.unsubscribed)}</p>`);
  });
}

function wantsJson(req: FastifyRequest): boolean {
  return (
    (req.headers["content-type"] ?? "").includes("json") || (req.headers.accept ?? "").startsWith("application/json")
  );
}

function langOf(req: Req, s?: Subscriber): Language {
  return pickLanguage(req.query.lang, s?.language, req.headers["accept-language"]);
}

function tokenQuery(req: Req): string {
  return `?token=${encodeURIComponent(req.query.token ?? "")}`;
}

/** What the reader's pages share: the subscriber service, the keys that sign links, the page around each answer. */
class ReaderPages {
  readonly service: SubscriberService;

  constructor(
    readonly rt: PeopleDeps,
    private readonly secretKey: string | undefined,
  ) {
    this.service = new SubscriberService(rt);
  }

  key(): string {
    return requireSecret(this.secretKey ?? this.rt.config.secretKey);
  }

  html(reply: FastifyReply, lang: Language, title: string, body: string, status = 200) {
    return reply
      .code(status)
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .send(
        page({
          lang,
          title,
          body,
          head: discoveryLinks(this.rt.config),
          orgName: this.rt.config.orgNames[lang],
          brandColor: this.rt.config.brandColor,
          // The same page in another language: GET pages only (a POST's answer is not a place to return to).
          ...(reply.request.method === "GET" ? { languageLinks: languageLinksFor(reply.request.url) } : {}),
          ...(reply.request.url.startsWith("/subscribe") ? { current: "subscribe" as const } : {}),
        }),
      );
  }

  /** Any error as a page (JSON if asked for): ours and 4xx with their message, any other as "internal error". */
  errorPage(err: Error & { statusCode?: number }, req: FastifyRequest, reply: FastifyReply) {
    const status = err instanceof HeraldError ? err.status : (err.statusCode ?? 500);
    if (status >= 500 && !(err instanceof HeraldError)) req.log.error({ err }, "page failed");
    const message = status >= 500 && !(err instanceof HeraldError) ? "internal error" : err.message;
    if (wantsJson(req))
      return reply.code(status).send({ error: message, issues: err instanceof HeraldError ? err.issues : [] });
    const lang = langOf(req as Req);
    const issues =
      err instanceof HeraldError && err.issues.length
        ? `<ul>${err.issues.map((i) => `<li>${escapeHtml(`${i.path}: ${i.message}`)}</li>`).join("")}</ul>`
        : "";
    return this.html(
      reply,
      lang,
      PAGE_STRINGS[lang].errorTitle,
      `<p class="error">${escapeHtml(message)}</p>${issues}`,
      status,
    );
  }

  facets(lang: Language, s?: Subscriber) {
    return offeredFacets(this.rt, lang, s);
  }

  private keys() {
    return this.rt.config.secretKeyPrevious ? [this.key(), this.rt.config.secretKeyPrevious] : this.key();
  }

  private async stored(id: string) {
    const s = await this.service.store.get(id);
    if (!s) throw new HeraldError("HERALD_NOT_FOUND", "this subscription no longer exists; subscribe again", 404);
    return s;
  }

  async subscriberFor(req: Req, purpose: "manage") {
    return this.stored(verifyToken(this.keys(), purpose, req.query.token, this.rt.clock.now()));
  }

  /** The confirm link's reader and when the link was made. Its token: in the query (the emailed link), or the form or JSON body (the button); if both, the same one. */
  async confirmTarget(req: Req) {
    const fromBody = req.body && typeof req.body === "object" ? (req.body as Record<string, unknown>).token : undefined;
    if (fromBody !== undefined && typeof fromBody !== "string")
      throw invalid("the field token must be one string (given more than once, or not text)", [
        { path: "token", message: "one string" },
      ]);
    const fromQuery = req.query.token || undefined;
    if (fromQuery !== undefined && fromBody && fromQuery !== fromBody) {
      throw invalid("two different tokens, in the address and in the form: use the link from the newest email", [
        { path: "token", message: "differs from the one in the address" },
      ]);
    }
    const { subscriberId, issuedAt } = readToken(this.keys(), "confirm", fromQuery ?? fromBody, this.rt.clock.now());
    return { s: await this.stored(subscriberId), issuedAt };
  }

  /** What a confirm link did, or would do: the answer to the POST, and to a GET with nothing to confirm. */
  confirmAnswer(req: Req, reply: FastifyReply, s: Subscriber, outcome: ConfirmOutcome) {
    const lang = langOf(req, s);
    const t = PAGE_STRINGS[lang];
    const c = CONFIRM_STRINGS[lang];
    if (wantsJson(req))
      return reply
        .header("cache-control", "no-store")
        .send({ ok: outcome === "confirmed" || outcome === "already", status: outcome });
    if (outcome === "unsubscribed") {
      return this.html(
        reply,
        lang,
        t.unsubscribedTitle,
        `<p>${escapeHtml(c.unsubscribed)}</p><p><a href="/subscribe?lang=${lang}">${escapeHtml(c.subscribeAgain)}</a></p>`,
      );
    }
    if (outcome === "suppressed") return this.html(reply, lang, c.title, `<p>${escapeHtml(c.suppressed)}</p>`);
    const links = readerLinks(this.rt.config.publicUrl, this.key(), s.id);
    const note = outcome === "already" ? c.already : t.confirmed;
    return this.html(
      reply,
      lang,
      t.confirmedTitle,
      `<p>${escapeHtml(note)}</p><p><a href="${escapeHtml(links.preferences)}">${escapeHtml(t.managePreferences)}</a></p>`,
    );
  }

  async preferencesPage(req: Req, reply: FastifyReply, s: Subscriber, note: string, lang = langOf(req, s)) {
    const t = PAGE_STRINGS[lang];
    const body = `${note ? `<p><strong>${escapeHtml(note)}</strong></p>` : ""}<p>${escapeHtml(s.email)}</p>
<form method="post" action="/preferences${tokenQuery(req)}">
${preferenceFields(t, valuesOf(s), await this.facets(lang, s), this.rt.config.defaultTimezone)}
<button type="submit">${escapeHtml(t.save)}</button>
</form>
<p><a href="/unsubscribe${tokenQuery(req)}">${escapeHtml(t.unsubscribeTitle)}</a></p>`;
    return this.html(reply, lang, t.preferencesTitle, body);
  }

  // An unsubscribed reader is told so (with the way back), never "preferences saved": saving
  // would send them nothing, and the page must not suggest otherwise.
  unsubscribedPage(req: Req, reply: FastifyReply, s: Subscriber) {
    const lang = langOf(req, s);
    const t = PAGE_STRINGS[lang];
    if (wantsJson(req))
      return reply.code(409).send({ error: "this address is unsubscribed: subscribe again at /subscribe", issues: [] });
    return this.html(
      reply,
      lang,
      t.unsubscribedTitle,
      `<p>${escapeHtml(t.unsubscribed)}</p>
<p><a href="/subscribe?lang=${lang}">${escapeHtml(t.subscribeTitle)}</a></p>`,
    );
  }
}
