// The reader's pages: subscribe (double opt-in), confirm, preferences and unsubscribe.
// GET never changes state except /confirm (the link in the confirmation email); unsubscribe
// needs a POST, which is also what RFC 8058 one-click sends, and answers 200 without redirect.
// /subscribe answers the same whatever state the address is in (no enumeration) and is rate
// limited per IP; the service sends at most one confirmation per address per hour.
import { discoveryLinks } from "../feeds/discovery.ts";
import rateLimit from "@fastify/rate-limit";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { HeraldError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import type { Language, Subscriber } from "../subscribers/model.ts";
import { readerLinks } from "../subscribers/links.ts";
import { SubscriberService } from "../subscribers/service.ts";
import { requireSecret, verifyToken } from "../subscribers/tokens.ts";
import { escapeHtml } from "../templates/render.ts";
import { strictFormBodies } from "./form-body.ts";
import { preferenceFields, readForm, valuesOf } from "./pages/forms.ts";
import { page } from "./pages/layout.ts";
import { PAGE_STRINGS, pickLanguage } from "./pages/strings.ts";

/** Subscribe attempts per IP. */
export const SUBSCRIBE_LIMIT = { max: 10, timeWindow: "1 minute" };

type Req = FastifyRequest<{ Querystring: { token?: string; lang?: string } }>;

export const peopleRoutes: FastifyPluginAsync<{ rt: Runtime; secretKey?: string }> = async (app, { rt, secretKey }) => {
  strictFormBodies(app);
  // Counted in Redis, so the limit holds across every web process behind the load balancer.
  await app.register(rateLimit, { global: false, redis: rt.redis, nameSpace: `${rt.config.prefix}:ratelimit:`, skipOnError: false });
  const service = new SubscriberService(rt);
  const key = () => requireSecret(secretKey ?? rt.config.secretKey);
  const wantsJson = (req: FastifyRequest) => (req.headers["content-type"] ?? "").includes("json") || (req.headers.accept ?? "").startsWith("application/json");

  const html = (reply: FastifyReply, lang: Language, title: string, body: string, status = 200) =>
    reply
      .code(status)
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .send(page({ lang, title, body, head: discoveryLinks(rt.config), orgName: rt.config.orgName, brandColor: rt.config.brandColor }));

  const langOf = (req: Req, s?: Subscriber) => pickLanguage(req.query.lang, s?.language, req.headers["accept-language"]);

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err instanceof HeraldError ? err.status : (err.statusCode ?? 500);
    if (status >= 500 && !(err instanceof HeraldError)) req.log.error({ err }, "page failed");
    const message = status >= 500 && !(err instanceof HeraldError) ? "internal error" : err.message;
    if (wantsJson(req)) return reply.code(status).send({ error: message, issues: err instanceof HeraldError ? err.issues : [] });
    const lang = langOf(req as Req);
    const issues = err instanceof HeraldError && err.issues.length ? `<ul>${err.issues.map((i) => `<li>${escapeHtml(`${i.path}: ${i.message}`)}</li>`).join("")}</ul>` : "";
    return html(reply, lang, PAGE_STRINGS[lang].errorTitle, `<p class="error">${escapeHtml(message)}</p>${issues}`, status);
  });

  const facets = async () => ({ topics: await rt.releases.facets("topics"), regions: await rt.releases.facets("regions") });
  const subscriberFor = async (req: Req, purpose: "confirm" | "manage") => {
    const keys = rt.config.secretKeyPrevious ? [key(), rt.config.secretKeyPrevious] : key();
    const id = verifyToken(keys, purpose, req.query.token, rt.clock.now());
    const s = await service.store.get(id);
    if (!s) throw new HeraldError("HERALD_NOT_FOUND", "this subscription no longer exists; subscribe again", 404);
    return s;
  };
  const tokenQuery = (req: Req) => `?token=${encodeURIComponent(req.query.token ?? "")}`;

  app.get("/subscribe", async (req: Req, reply) => {
    const lang = langOf(req);
    const t = PAGE_STRINGS[lang];
    const body = `<p>${escapeHtml(t.subscribeIntro(rt.config.orgName))}</p>
<form method="post" action="/subscribe?lang=${lang}">
<label for="email">${escapeHtml(t.email)}</label>
<input type="email" id="email" name="email" required maxlength="254">
${preferenceFields(t, { language: lang }, await facets(), rt.config.defaultTimezone)}
<button type="submit">${escapeHtml(t.subscribeButton)}</button>
</form>
<script>try{var z=Intl.DateTimeFormat().resolvedOptions().timeZone;if(z)document.getElementById("timezone").value=z}catch(e){}</script>`;
    return html(reply, lang, t.subscribeTitle, body);
  });

  app.post("/subscribe", { config: { rateLimit: SUBSCRIBE_LIMIT } }, async (req: Req, reply) => {
    key(); // fail before sending anything if links cannot be signed
    await service.subscribe(readForm(req.body));
    const lang = langOf(req);
    const t = PAGE_STRINGS[lang];
    if (wantsJson(req)) return reply.code(202).send({ ok: true, message: t.checkInbox });
    return html(reply, lang, t.checkInboxTitle, `<p>${escapeHtml(t.checkInbox)}</p>`, 202);
  });

  app.get("/confirm", async (req: Req, reply) => {
    const s = await service.confirm((await subscriberFor(req, "confirm")).id);
    const lang = langOf(req, s);
    const t = PAGE_STRINGS[lang];
    const links = readerLinks(rt.config.publicUrl, key(), s.id);
    return html(reply, lang, t.confirmedTitle, `<p>${escapeHtml(t.confirmed)}</p><p><a href="${escapeHtml(links.preferences)}">${escapeHtml(t.managePreferences)}</a></p>`);
  });

  const preferencesPage = async (req: Req, reply: FastifyReply, s: Subscriber, note: string, lang = langOf(req, s)) => {
    const t = PAGE_STRINGS[lang];
    const body = `${note ? `<p><strong>${escapeHtml(note)}</strong></p>` : ""}<p>${escapeHtml(s.email)}</p>
<form method="post" action="/preferences${tokenQuery(req)}">
${preferenceFields(t, valuesOf(s), await facets(), rt.config.defaultTimezone)}
<button type="submit">${escapeHtml(t.save)}</button>
</form>
<p><a href="/unsubscribe${tokenQuery(req)}">${escapeHtml(t.unsubscribeTitle)}</a></p>`;
    return html(reply, lang, t.preferencesTitle, body);
  };

  // An unsubscribed reader is told so (with the way back), never "preferences saved": saving
  // would send them nothing, and the page must not suggest otherwise.
  const unsubscribedPage = (req: Req, reply: FastifyReply, s: Subscriber) => {
    const lang = langOf(req, s);
    const t = PAGE_STRINGS[lang];
    if (wantsJson(req)) return reply.code(409).send({ error: "this address is unsubscribed: subscribe again at /subscribe", issues: [] });
    return html(reply, lang, t.unsubscribedTitle, `<p>${escapeHtml(t.unsubscribed)}</p>
<p><a href="/subscribe?lang=${lang}">${escapeHtml(t.subscribeTitle)}</a></p>`);
  };

  app.get("/preferences", async (req: Req, reply) => {
    const s = await subscriberFor(req, "manage");
    if (s.status === "unsubscribed") return unsubscribedPage(req, reply, s);
    return preferencesPage(req, reply, s, "");
  });

  app.post("/preferences", async (req: Req, reply) => {
    const current = await subscriberFor(req, "manage");
    if (current.status === "unsubscribed") return unsubscribedPage(req, reply, current);
    const s = await service.updatePreferences(current.id, readForm(req.body));
    if (wantsJson(req)) return reply.send({ ok: true, subscriber: valuesOf(s) });
    // Shown in the language just chosen.
    return preferencesPage(req, reply, s, PAGE_STRINGS[s.language].saved, s.language);
  });

  app.get("/unsubscribe", async (req: Req, reply) => {
    const s = await subscriberFor(req, "manage");
    const lang = langOf(req, s);
    const t = PAGE_STRINGS[lang];
    const body = `<p>${escapeHtml(t.unsubscribeQuestion(s.email))}</p>
<form method="post" action="/unsubscribe${tokenQuery(req)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">${escapeHtml(t.unsubscribeButton)}</button></form>`;
    return html(reply, lang, t.unsubscribeTitle, body);
  });

  app.post("/unsubscribe", async (req: Req, reply) => {
    const s = await service.unsubscribe((await subscriberFor(req, "manage")).id);
    const lang = langOf(req, s);
    const t = PAGE_STRINGS[lang];
    if (wantsJson(req)) return reply.send({ ok: true });
    return html(reply, lang, t.unsubscribedTitle, `<p>${escapeHtml(t.unsubscribed)}</p>`);
  });
};
