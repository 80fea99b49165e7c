// Words on the public pages, in en, fr and es: PAGE_STRINGS for every page, CONFIRM_STRINGS for
// the confirm page (GET shows a button, POST confirms). A page picks its language with
// pickLanguage (languages.ts).
import type { Translations } from "./languages.ts";
import { deEs, deFr, theEn } from "./org-name.ts";

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
  /** What follows a label: ":" (French: a non-breaking space first). */
  colon: string;
  /** The branded header and footer of every page. */
  skipToContent: string;
  mainNav: string;
  navLatest: string;
  navSubscribe: string;
  navFeeds: string;
  languageNav: string;
  /** The front door (GET /). */
  homeTitle: string;
  homeIntro(org: string): string;
  noReleases: string;
  newer: string;
  older: string;
  pageOf(n: number, total: number): string;
  pagination: string;
  badPage: string;
  pageNotFound(last: number): string;
  followIntro: string;
  subscribeCall: string;
  /** Release pages. */
  contacts: string;
  alsoIn: string;
  feedsOf: string;
  correction: string;
  /** GET /feeds and 404 / 410 pages. */
  feedsTitle: string;
  feedsIntro: string;
  allReleases: string;
  byTopic: string;
  byRegion: string;
  byLanguage: string;
  everyRelease: string;
  withdrawnTitle: string;
  withdrawn: string;
  notFoundTitle: string;
  notFound: string;
  backHome: string;
}

const en: PageStrings = {
  subscribeTitle: "Subscribe to our news",
  subscribeIntro: (org) => `Press releases from ${theEn(org)}, by email, in your language.`,
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
  checkInbox:
    "If this address can receive our news, we have sent it an email. Click the link in it to confirm your subscription.",
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
  colon: ":",
  skipToContent: "Skip to content",
  mainNav: "Main",
  navLatest: "Latest releases",
  navSubscribe: "Subscribe",
  navFeeds: "Feeds",
  languageNav: "Language",
  homeTitle: "Latest news releases",
  homeIntro: (org) => `Press releases from ${theEn(org)}. Get them by email or in your feed reader.`,
  noReleases: "No releases have been published yet.",
  newer: "Newer releases",
  older: "Older releases",
  pageOf: (n, total) => `Page ${n} of ${total}`,
  pagination: "Pages",
  badPage: "page must be a whole number from 1",
  pageNotFound: (last) => `There is no such page; the last one is page ${last}.`,
  followIntro: "Follow in a feed reader:",
  subscribeCall: "Get our releases by email",
  contacts: "Contacts",
  alsoIn: "Also in:",
  feedsOf: "Feeds:",
  correction: "Correction:",
  feedsTitle: "Feeds",
  feedsIntro:
    "Follow our news releases in any feed reader: paste one of these addresses into it. RSS, Atom and JSON Feed carry the same entries.",
  allReleases: "All releases",
  byTopic: "By topic",
  byRegion: "By region",
  byLanguage: "By language",
  everyRelease: "Every release",
  withdrawnTitle: "This release was withdrawn",
  withdrawn: "This release was withdrawn and is no longer available.",
  notFoundTitle: "Not found",
  notFound: "There is no public release at this address.",
  backHome: "See the latest releases",
};

const fr: PageStrings = {
  subscribeTitle: "Abonnez-vous à nos actualités",
  subscribeIntro: (org) => `Les communiqués ${deFr(org)}, par courriel, dans votre langue.`,
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
  checkInbox:
    "Si cette adresse peut recevoir nos actualités, nous lui avons envoyé un courriel. Cliquez sur le lien qu’il contient pour confirmer votre abonnement.",
  confirmedTitle: "Abonnement confirmé",
  confirmed: "Merci. Vous recevrez nos actualités à cette adresse.",
  preferencesTitle: "Vos préférences",
  save: "Enregistrer",
  saved: "Vos préférences sont enregistrées.",
  unsubscribeTitle: "Se désabonner",
  unsubscribeQuestion: (email) => `Ne plus rien envoyer à ${email}\u202f?`,
  unsubscribeButton: "Se désabonner",
  unsubscribedTitle: "Vous êtes désabonné·e",
  unsubscribed: "Nous ne vous enverrons plus de courriel.",
  managePreferences: "Gérer vos préférences",
  errorTitle: "Un problème est survenu",
  colon: "\u00a0:",
  skipToContent: "Aller au contenu",
  mainNav: "Navigation principale",
  navLatest: "Derniers communiqués",
  navSubscribe: "S’abonner",
  navFeeds: "Flux",
  languageNav: "Langue",
  homeTitle: "Derniers communiqués de presse",
  homeIntro: (org) => `Les communiqués de presse ${deFr(org)}. Recevez-les par courriel ou dans votre lecteur de flux.`,
  noReleases: "Aucun communiqué n’a encore été publié.",
  newer: "Communiqués plus récents",
  older: "Communiqués plus anciens",
  pageOf: (n, total) => `Page ${n} sur ${total}`,
  pagination: "Pages",
  badPage: "la page doit être un nombre entier à partir de 1",
  pageNotFound: (last) => `Cette page n’existe pas\u00a0; la dernière est la page ${last}.`,
  followIntro: "Suivre dans un lecteur de flux\u00a0:",
  subscribeCall: "Recevoir nos communiqués par courriel",
  contacts: "Contacts",
  alsoIn: "Aussi en\u00a0:",
  feedsOf: "Flux\u00a0:",
  correction: "Rectificatif\u00a0:",
  feedsTitle: "Flux",
  feedsIntro:
    "Suivez nos communiqués dans n’importe quel lecteur de flux\u00a0: collez-y l’une de ces adresses. RSS, Atom et JSON Feed contiennent les mêmes articles.",
  allReleases: "Tous les communiqués",
  byTopic: "Par thème",
  byRegion: "Par région",
  byLanguage: "Par langue",
  everyRelease: "Tous les communiqués",
  withdrawnTitle: "Ce communiqué a été retiré",
  withdrawn: "Ce communiqué a été retiré et n’est plus disponible.",
  notFoundTitle: "Page introuvable",
  notFound: "Il n’y a pas de communiqué public à cette adresse.",
  backHome: "Voir les derniers communiqués",
};

const es: PageStrings = {
  subscribeTitle: "Suscríbase a nuestras noticias",
  subscribeIntro: (org) => `Los comunicados ${deEs(org)}, por correo electrónico, en su idioma.`,
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
  checkInbox:
    "Si esta dirección puede recibir nuestras noticias, le hemos enviado un correo. Haga clic en el enlace para confirmar su suscripción.",
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
  colon: ":",
  skipToContent: "Ir al contenido",
  mainNav: "Navegación principal",
  navLatest: "Últimos comunicados",
  navSubscribe: "Suscribirse",
  navFeeds: "Canales",
  languageNav: "Idioma",
  homeTitle: "Últimos comunicados de prensa",
  homeIntro: (org) =>
    `Los comunicados de prensa ${deEs(org)}. Recíbalos por correo electrónico o en su lector de canales.`,
  noReleases: "Todavía no se ha publicado ningún comunicado.",
  newer: "Comunicados más recientes",
  older: "Comunicados anteriores",
  pageOf: (n, total) => `Página ${n} de ${total}`,
  pagination: "Páginas",
  badPage: "la página debe ser un número entero a partir de 1",
  pageNotFound: (last) => `Esa página no existe; la última es la página ${last}.`,
  followIntro: "Seguir en un lector de canales:",
  subscribeCall: "Reciba nuestros comunicados por correo",
  contacts: "Contactos",
  alsoIn: "También en:",
  feedsOf: "Canales:",
  correction: "Corrección:",
  feedsTitle: "Canales",
  feedsIntro:
    "Siga nuestros comunicados en cualquier lector de canales: pegue en él una de estas direcciones. RSS, Atom y JSON Feed contienen las mismas entradas.",
  allReleases: "Todos los comunicados",
  byTopic: "Por tema",
  byRegion: "Por región",
  byLanguage: "Por idioma",
  everyRelease: "Todos los comunicados",
  withdrawnTitle: "Este comunicado fue retirado",
  withdrawn: "Este comunicado fue retirado y ya no está disponible.",
  notFoundTitle: "No encontrado",
  notFound: "No hay ningún comunicado público en esta dirección.",
  backHome: "Ver los últimos comunicados",
};

export const PAGE_STRINGS: Translations<PageStrings> = { en, fr, es };

export interface ConfirmStrings {
  title: string;
  question(email: string): string;
  button: string;
  already: string;
  /** An old confirm link opened after the reader unsubscribed. */
  unsubscribed: string;
  subscribeAgain: string;
  suppressed: string;
}

export const CONFIRM_STRINGS: Translations<ConfirmStrings> = {
  en: {
    title: "Confirm your subscription",
    question: (email) => `Receive our news at ${email}?`,
    button: "Confirm my subscription",
    already: "This subscription is already confirmed.",
    unsubscribed:
      "This address unsubscribed after this link was sent, so the link no longer confirms anything. We will not send you email.",
    subscribeAgain: "Subscribe again",
    suppressed:
      "We cannot send email to this address (it bounced or was reported as spam), so this link confirms nothing.",
  },
  fr: {
    title: "Confirmez votre abonnement",
    question: (email) => `Recevoir nos actualités à l’adresse ${email}\u202f?`,
    button: "Confirmer mon abonnement",
    already: "Cet abonnement est déjà confirmé.",
    unsubscribed:
      "Cette adresse s’est désabonnée après l’envoi de ce lien\u00a0: il ne confirme plus rien. Nous ne vous enverrons pas de courriel.",
    subscribeAgain: "Se réabonner",
    suppressed:
      "Nous ne pouvons pas écrire à cette adresse (retour en erreur ou signalement comme indésirable)\u00a0: ce lien ne confirme rien.",
  },
  es: {
    title: "Confirme su suscripción",
    question: (email) => `¿Recibir nuestras noticias en ${email}?`,
    button: "Confirmar mi suscripción",
    already: "Esta suscripción ya está confirmada.",
    unsubscribed:
      "Esta dirección canceló su suscripción después de que se enviara este enlace, que ya no confirma nada. No le enviaremos correos.",
    subscribeAgain: "Suscribirse de nuevo",
    suppressed:
      "No podemos enviar correos a esta dirección (fueron devueltos o marcados como spam): este enlace no confirma nada.",
  },
};
