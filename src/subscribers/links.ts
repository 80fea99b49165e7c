// The URLs a reader sees: built from PUBLIC_URL and signed tokens. One place, so the pages,
// the List-Unsubscribe header and the templates can never disagree.
import { CONFIRM_TTL_MS, signToken } from "./tokens.ts";

export interface ReaderLinks {
  unsubscribe: string;
  preferences: string;
}

export function readerLinks(publicUrl: string, key: string, subscriberId: string): ReaderLinks {
  const t = encodeURIComponent(signToken(key, "manage", subscriberId));
  return { unsubscribe: `${publicUrl}/unsubscribe?token=${t}`, preferences: `${publicUrl}/preferences?token=${t}` };
}

export function confirmLink(publicUrl: string, key: string, subscriberId: string, now: number): string {
  const t = encodeURIComponent(signToken(key, "confirm", subscriberId, now + CONFIRM_TTL_MS, now));
  return `${publicUrl}/confirm?token=${t}`;
}
