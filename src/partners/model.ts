// A partner outlet: where its webhooks go, what it wants, and whether it still gets them.
// The secret signs every delivery; it is stored with the partner and shown once, when created.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { languageCode, singleLine, slug } from "../releases/model.ts";

export type PartnerStatus = "active" | "disabled";

export interface Partner {
  id: string;
  name: string;
  url: string;
  /** `whsec_` + base64 key (Standard Webhooks). Never logged, never in job data. */
  secret: string;
  /** During a rotation: the old secret, still signing (beside the new one) until the time given. */
  previousSecret?: string;
  previousSecretUntil?: string;
  /** Filters; an empty list means "all". */
  topics: string[];
  regions: string[];
  languages: string[];
  /** Receives embargoed releases early, with ninjs `embargoedUntil` set. */
  embargoAccess: boolean;
  /** May point at http:// and private, loopback or link-local addresses (tests, intranets). */
  allowPrivate: boolean;
  status: PartnerStatus;
  disabledReason?: string;
  disabledAt?: string;
  createdAt: string;
}

/** What may be shown anywhere: the partner without its secret. */
export type PartnerView = Omit<Partner, "secret" | "previousSecret">;

export function publicView(p: Partner): PartnerView {
  const { secret: _secret, previousSecret: _previous, ...rest } = p;
  return rest;
}

/** Standard Webhooks secrets: `whsec_` and base64 of 24 to 64 random bytes. */
export function isWebhookSecret(s: string): boolean {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(s);
  if (!m) return false;
  const bytes = Buffer.from(m[1]!, "base64").length;
  return bytes >= 24 && bytes <= 64;
}

/** The secrets that sign a delivery at `now`: the current one, and the previous during a rotation. */
export function signingSecrets(p: Partner, now: number): string[] {
  const overlap = p.previousSecret && p.previousSecretUntil && Date.parse(p.previousSecretUntil) > now;
  return overlap ? [p.secret, p.previousSecret!] : [p.secret];
}

export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

export const partnerInputSchema = z.object({
  name: singleLine(120),
  url: z.string().trim().min(1, "must not be empty").max(2048, "at most 2048 characters"),
  secret: z
    .string()
    .trim()
    .refine(
      isWebhookSecret,
      "a Standard Webhooks secret: whsec_ followed by base64 of 24 to 64 bytes (omit it to have one generated)",
    )
    .optional(),
  topics: z.array(slug).max(50, "at most 50 topics").default([]),
  regions: z.array(slug).max(100, "at most 100 regions").default([]),
  languages: z.array(languageCode).max(20, "at most 20 languages").default([]),
  embargoAccess: z.boolean().default(false),
  allowPrivate: z.boolean().default(false),
});
