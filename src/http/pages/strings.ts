// Words on the public pages, in en, fr and es, and how a page picks its language:
// ?lang=, else the subscriber's language, else the browser's Accept-Language, else English.
import { LANGUAGES, type Language } from "../../subscribers/model.ts";

export interface PageStrings {
  subscribeTitle: string;
  subscribeIntro(org: string): string;
  email: string;
  name: string;
  language: string;
  frequency: string;
  frequencies: Record<"immediate" | "daily" | "weekly", string>;
  topics: string;
  regions: string;
  allHint: string;
  timezone: string;
  subscribeButton: string;
  checkInboxTitle: string;
  checkInbox: string;
  confirmedTitle: string;
  confirmed: string;
  preferencesTitle: string;
  save: string;
  saved: string;
  unsubscribeTitle: string;
  unsubscribeQuestion(email: string): string;
  unsubscribeButton: string;
  unsubscribedTitle: string;
  unsubscribed: string;
  managePreferences: string;
  errorTitle: string;
}

const en: PageStrings = {
  subscribeTitle: "Subscribe to our news",
  subscribeIntro: (org) => `Press releases from ${org}, by email, in your language.`,
  email: "Email address",
  name: "Name (optional)",
  language: "Language",
  frequency: "How often",
  frequencies: { immediate: "As soon as published", daily: "Daily digest", weekly: "Weekly digest" },
  topics: "Topics",
  regions: "Regions",
  allHint: "Choose none to get all of them.",
  timezone: "Time zone (digests arrive in the morning, your time)",
  subscribeButton: "Subscribe",
  checkInboxTitle: "Check your inbox",
  checkInbox: "If this address can receive our news, we have sent it an email. Click the link in it to confirm your subscription.",
  confirmedTitle: "Subscription confirmed",
  confirmed: "Thank you. You will receive our news at this address.",
  preferencesTitle: "Your preferences",
  save: "Save",
  saved: "Your preferences are saved.",
  unsubscribeTitle: "Unsubscribe",
  unsubscribeQuestion: (email) => `Stop all email to ${email}?`,
  unsubscribeButton: "Unsubscribe",
  unsubscribedTitle: "You are unsubscribed",
  unsubscribed: "We will not send you any more email.",
  managePreferences: "Manage your preferences",
  errorTitle: "Something is wrong",
};

const fr: PageStrings = {
  subscribeTitle: "Abonnez-vous à nos actualités",
  subscribeIntro: (org) => `Les communiqués de ${org}, par courriel, dans votre langue.`,
  email: "Adresse électronique",
  name: "Nom (facultatif)",
  language: "Langue",
  frequency: "Fréquence",
  frequencies: { immediate: "Dès la publication", daily: "Résumé quotidien", weekly: "Résumé hebdomadaire" },
  topics: "Thèmes",
  regions: "Régions",
  allHint: "N’en cochez aucun pour tout recevoir.",
  timezone: "Fuseau horaire (les résumés arrivent le matin, à votre heure)",
  subscribeButton: "S’abonner",
  checkInboxTitle: "Consultez votre messagerie",
  checkInbox: "Si cette adresse peut recevoir nos actualités, nous lui avons envoyé un courriel. Cliquez sur le lien qu’il contient pour confirmer votre abonnement.",
  confirmedTitle: "Abonnement confirmé",
  confirmed: "Merci. Vous recevrez nos actualités à cette adresse.",
  preferencesTitle: "Vos préférences",
  save: "Enregistrer",
  saved: "Vos préférences sont enregistrées.",
  unsubscribeTitle: "Se désabonner",
  unsubscribeQuestion: (email) => `Ne plus rien envoyer à ${email} ?`,
  unsubscribeButton: "Se désabonner",
  unsubscribedTitle: "Vous êtes désabonné·e",
  unsubscribed: "Nous ne vous enverrons plus de courriel.",
  managePreferences: "Gérer vos préférences",
  errorTitle: "Un problème est survenu",
};

const es: PageStrings = {
  subscribeTitle: "Suscríbase a nuestras noticias",
  subscribeIntro: (org) => `Los comunicados de ${org}, por correo electrónico, en su idioma.`,
  email: "Correo electrónico",
  name: "Nombre (opcional)",
  language: "Idioma",
  frequency: "Frecuencia",
  frequencies: { immediate: "En cuanto se publiquen", daily: "Resumen diario", weekly: "Resumen semanal" },
  topics: "Temas",
  regions: "Regiones",
  allHint: "No marque ninguno para recibirlos todos.",
  timezone: "Zona horaria (los resúmenes llegan por la mañana, a su hora)",
  subscribeButton: "Suscribirme",
  checkInboxTitle: "Revise su correo",
  checkInbox: "Si esta dirección puede recibir nuestras noticias, le hemos enviado un correo. Haga clic en el enlace para confirmar su suscripción.",
  confirmedTitle: "Suscripción confirmada",
  confirmed: "Gracias. Recibirá nuestras noticias en esta dirección.",
  preferencesTitle: "Sus preferencias",
  save: "Guardar",
  saved: "Sus preferencias se han guardado.",
  unsubscribeTitle: "Cancelar la suscripción",
  unsubscribeQuestion: (email) => `¿Dejar de enviar correos a ${email}?`,
  unsubscribeButton: "Cancelar la suscripción",
  unsubscribedTitle: "Ha cancelado su suscripción",
  unsubscribed: "No le enviaremos más correos.",
  managePreferences: "Gestionar sus preferencias",
  errorTitle: "Algo ha fallado",
};

export const PAGE_STRINGS: Record<Language, PageStrings> = { en, fr, es };

const isLanguage = (s: unknown): s is Language => typeof s === "string" && (LANGUAGES as readonly string[]).includes(s);

/** ?lang, else the subscriber's language, else the best Accept-Language match, else en. */
export function pickLanguage(query: unknown, subscriberLanguage: Language | undefined, acceptLanguage: string | undefined): Language {
  if (isLanguage(query)) return query;
  if (subscriberLanguage) return subscriberLanguage;
  const ranked = (acceptLanguage ?? "")
    .split(",")
    .map((part) => {
      const [tag, ...params] = part.trim().split(";");
      const q = params.map((p) => /^q=([\d.]+)$/.exec(p.trim())).find(Boolean);
      return { lang: (tag ?? "").toLowerCase().split("-")[0], q: q ? Number(q[1]) : 1 };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q);
  return ranked.map((x) => x.lang).find(isLanguage) ?? "en";
}
