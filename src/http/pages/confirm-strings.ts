// Words of the confirm page (GET shows a button, POST confirms), in en, fr and es. Beside
// strings.ts rather than in it: only the confirm flow uses them.
import type { Language } from "../../subscribers/model.ts";

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

export const CONFIRM_STRINGS: Record<Language, ConfirmStrings> = {
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
    question: (email) => `Recevoir nos actualités à l’adresse ${email} ?`,
    button: "Confirmer mon abonnement",
    already: "Cet abonnement est déjà confirmé.",
    unsubscribed:
      "Cette adresse s’est désabonnée après l’envoi de ce lien : il ne confirme plus rien. Nous ne vous enverrons pas de courriel.",
    subscribeAgain: "Se réabonner",
    suppressed:
      "Nous ne pouvons pas écrire à cette adresse (retour en erreur ou signalement comme indésirable) : ce lien ne confirme rien.",
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
