// Every word a reader sees in an email, in en, fr and es. Dates go through Intl.DateTimeFormat in
// the reader's language and time zone (see dates.ts), never through these strings.
import type { Language } from "../subscribers/model.ts";

export interface MailStrings {
  greeting(name?: string): string;
  readMore: string;
  unsubscribe: string;
  preferences: string;
  footer(org: string): string;
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
  footer: (org) => `You receive this email because you subscribed to news from ${org}.`,
  alertSubject: (title) => title,
  correctionSubject: (title) => `Correction: ${title}`,
  correctionIntro: "We have corrected a press release we sent you.",
  correctionNote: "What changed",
  digestSubject: (f, n, org) => `${org}: ${n} new release${n === 1 ? "" : "s"} this ${f === "daily" ? "day" : "week"}`,
  digestIntro: (f, n) => `Here ${n === 1 ? "is the new release" : `are the ${n} new releases`} since your last ${f} digest.`,
  other: "Other news",
  confirmSubject: (org) => `Confirm your subscription to ${org} news`,
  confirmIntro: (org) => `Please confirm that you want to receive news from ${org} at this address.`,
  confirmButton: "Confirm my subscription",
  confirmIgnore: "If you did not ask for this, ignore this email: nothing will be sent to you.",
  contacts: "Contacts",
};

const fr: MailStrings = {
  greeting: (name) => (name ? `Bonjour ${name},` : "Bonjour,"),
  readMore: "Lire la suite",
  unsubscribe: "Se désabonner",
  preferences: "Gérer vos préférences",
  footer: (org) => `Vous recevez ce courriel parce que vous êtes abonné·e aux actualités de ${org}.`,
  alertSubject: (title) => title,
  correctionSubject: (title) => `Rectificatif : ${title}`,
  correctionIntro: "Nous avons corrigé un communiqué que nous vous avons envoyé.",
  correctionNote: "Ce qui a changé",
  digestSubject: (f, n, org) => `${org} : ${n} nouveau${n === 1 ? "" : "x"} communiqué${n === 1 ? "" : "s"} ${f === "daily" ? "aujourd’hui" : "cette semaine"}`,
  digestIntro: (f, n) =>
    `Voici ${n === 1 ? "le nouveau communiqué" : `les ${n} nouveaux communiqués`} depuis votre dernier résumé ${f === "daily" ? "quotidien" : "hebdomadaire"}.`,
  other: "Autres actualités",
  confirmSubject: (org) => `Confirmez votre abonnement aux actualités de ${org}`,
  confirmIntro: (org) => `Merci de confirmer que vous souhaitez recevoir les actualités de ${org} à cette adresse.`,
  confirmButton: "Confirmer mon abonnement",
  confirmIgnore: "Si vous n’avez rien demandé, ignorez ce courriel : vous ne recevrez rien.",
  contacts: "Contacts",
};

const es: MailStrings = {
  greeting: (name) => (name ? `Hola, ${name}:` : "Hola:"),
  readMore: "Leer más",
  unsubscribe: "Cancelar la suscripción",
  preferences: "Gestionar sus preferencias",
  footer: (org) => `Recibe este correo porque se suscribió a las noticias de ${org}.`,
  alertSubject: (title) => title,
  correctionSubject: (title) => `Corrección: ${title}`,
  correctionIntro: "Hemos corregido un comunicado que le enviamos.",
  correctionNote: "Qué ha cambiado",
  digestSubject: (f, n, org) => `${org}: ${n} comunicado${n === 1 ? "" : "s"} nuevo${n === 1 ? "" : "s"} ${f === "daily" ? "hoy" : "esta semana"}`,
  digestIntro: (f, n) => `${n === 1 ? "Este es el nuevo comunicado" : `Estos son los ${n} nuevos comunicados`} desde su último resumen ${f === "daily" ? "diario" : "semanal"}.`,
  other: "Otras noticias",
  confirmSubject: (org) => `Confirme su suscripción a las noticias de ${org}`,
  confirmIntro: (org) => `Confirme que desea recibir las noticias de ${org} en esta dirección.`,
  confirmButton: "Confirmar mi suscripción",
  confirmIgnore: "Si no lo ha solicitado, ignore este correo: no le enviaremos nada.",
  contacts: "Contactos",
};

export const MAIL_STRINGS: Record<Language, MailStrings> = { en, fr, es };

/** "counter-trafficking" -> "Counter trafficking": slugs shown as group headings. */
export function humanize(slug: string): string {
  const s = slug.replace(/-/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}
