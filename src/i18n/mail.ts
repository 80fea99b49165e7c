// Every word a reader sees in an email, in en, fr and es. Dates go through Intl.DateTimeFormat in
// the reader's language and time zone (formatDate, clock.ts), never through these strings.
import type { Translations } from "./languages.ts";
import { deEs, deFr, theEn } from "./org-name.ts";

export interface MailStrings {
  greeting(name?: string): string;
  readMore: string;
  unsubscribe: string;
  preferences: string;
  footer(org: string): string;
  /** The confirmation mail's footer: the reader has not subscribed yet, someone asked. */
  confirmFooter(org: string): string;
  /** What follows a label: ":" (French: a non-breaking space first). */
  colon: string;
  topics: string;
  regions: string;
  alertSubject(title: string): string;
  correctionSubject(title: string): string;
  correctionIntro: string;
  correctionNote: string;
  digestSubject(frequency: "daily" | "weekly", count: number, org: string): string;
  digestIntro(frequency: "daily" | "weekly", count: number): string;
  other: string;
  confirmSubject(org: string): string;
  confirmIntro(org: string): string;
  confirmButton: string;
  confirmIgnore: string;
  contacts: string;
}

const en: MailStrings = {
  greeting: (name) => (name ? `Hello ${name},` : "Hello,"),
  readMore: "Read more",
  unsubscribe: "Unsubscribe",
  preferences: "Manage your preferences",
  footer: (org) => `You receive this email because you subscribed to news from ${theEn(org)}.`,
  confirmFooter: (org) =>
    `You receive this email because someone asked to subscribe this address to news from ${theEn(org)}.`,
  colon: ":",
  topics: "Topics",
  regions: "Regions",
  alertSubject: (title) => title,
  correctionSubject: (title) => `Correction: ${title}`,
  correctionIntro: "We have corrected a press release we sent you.",
  correctionNote: "What changed",
  digestSubject: (f, n, org) =>
    `${org}: ${n} new release${n === 1 ? "" : "s"} ${f === "daily" ? "today" : "this week"}`,
  digestIntro: (f, n) =>
    `Here ${n === 1 ? "is the new release" : `are the ${n} new releases`} since your last ${f} digest.`,
  other: "Other news",
  confirmSubject: (org) => `Confirm your subscription to ${org} news`,
  confirmIntro: (org) => `Please confirm that you want to receive news from ${theEn(org)} at this address.`,
  confirmButton: "Confirm my subscription",
  confirmIgnore: "If you did not ask for this, ignore this email: nothing will be sent to you.",
  contacts: "Contacts",
};

const fr: MailStrings = {
  greeting: (name) => (name ? `Bonjour ${name},` : "Bonjour,"),
  readMore: "Lire la suite",
  unsubscribe: "Se désabonner",
  preferences: "Gérer vos préférences",
  footer: (org) => `Vous recevez ce courriel parce que vous êtes abonné·e aux actualités ${deFr(org)}.`,
  confirmFooter: (org) =>
    `Vous recevez ce courriel parce que quelqu’un a demandé à abonner cette adresse aux actualités ${deFr(org)}.`,
  colon: "\u00a0:",
  topics: "Thèmes",
  regions: "Régions",
  alertSubject: (title) => title,
  correctionSubject: (title) => `Rectificatif\u00a0: ${title}`,
  correctionIntro: "Nous avons corrigé un communiqué que nous vous avons envoyé.",
  correctionNote: "Ce qui a changé",
  digestSubject: (f, n, org) =>
    `${org}\u00a0: ${n} nouveau${n === 1 ? "" : "x"} communiqué${n === 1 ? "" : "s"} ${f === "daily" ? "aujourd’hui" : "cette semaine"}`,
  digestIntro: (f, n) =>
    `Voici ${n === 1 ? "le nouveau communiqué" : `les ${n} nouveaux communiqués`} depuis votre dernier résumé ${f === "daily" ? "quotidien" : "hebdomadaire"}.`,
  other: "Autres actualités",
  confirmSubject: (org) => `Confirmez votre abonnement aux actualités ${deFr(org)}`,
  confirmIntro: (org) => `Merci de confirmer que vous souhaitez recevoir les actualités ${deFr(org)} à cette adresse.`,
  confirmButton: "Confirmer mon abonnement",
  confirmIgnore: "Si vous n’avez rien demandé, ignorez ce courriel\u00a0: vous ne recevrez rien.",
  contacts: "Contacts",
};

const es: MailStrings = {
  greeting: (name) => (name ? `Hola, ${name}:` : "Hola:"),
  readMore: "Leer más",
  unsubscribe: "Cancelar la suscripción",
  preferences: "Gestionar sus preferencias",
  footer: (org) => `Recibe este correo porque se suscribió a las noticias ${deEs(org)}.`,
  confirmFooter: (org) =>
    `Recibe este correo porque alguien pidió suscribir esta dirección a las noticias ${deEs(org)}.`,
  colon: ":",
  topics: "Temas",
  regions: "Regiones",
  alertSubject: (title) => title,
  correctionSubject: (title) => `Corrección: ${title}`,
  correctionIntro: "Hemos corregido un comunicado que le enviamos.",
  correctionNote: "Qué ha cambiado",
  digestSubject: (f, n, org) =>
    `${org}: ${n} comunicado${n === 1 ? "" : "s"} nuevo${n === 1 ? "" : "s"} ${f === "daily" ? "hoy" : "esta semana"}`,
  digestIntro: (f, n) =>
    `${n === 1 ? "Este es el nuevo comunicado" : `Estos son los ${n} nuevos comunicados`} desde su último resumen ${f === "daily" ? "diario" : "semanal"}.`,
  other: "Otras noticias",
  confirmSubject: (org) => `Confirme su suscripción a las noticias ${deEs(org)}`,
  confirmIntro: (org) => `Confirme que desea recibir las noticias ${deEs(org)} en esta dirección.`,
  confirmButton: "Confirmar mi suscripción",
  confirmIgnore: "Si no lo ha solicitado, ignore este correo: no le enviaremos nada.",
  contacts: "Contactos",
};

export const MAIL_STRINGS: Translations<MailStrings> = { en, fr, es };
