// The words a feed item's HTML carries around the release (correction notice, press contacts),
// in en, fr and es. An item in another language gets the English ones (uiLanguage).
import type { Translations } from "./languages.ts";

export interface FeedStrings {
  contact: string;
  contacts: string;
  correction: string;
  /** What follows a label: ":" (French: a non-breaking space first). */
  colon: string;
}

export const FEED_STRINGS: Translations<FeedStrings> = {
  en: { contact: "Press contact", contacts: "Press contacts", correction: "Correction", colon: ":" },
  fr: { contact: "Contact presse", contacts: "Contacts presse", correction: "Rectificatif", colon: "\u00a0:" },
  es: { contact: "Contacto de prensa", contacts: "Contactos de prensa", correction: "Corrección", colon: ":" },
};
