// The webhook as it goes on the wire: the envelope {type, timestamp, data: ninjs} and the
// Standard Webhooks headers (https://www.standardwebhooks.com/). The body and webhook-id are the
// same for every attempt and every replay of one (release, revision, event), so partners can
// deduplicate; only webhook-timestamp (and so the signature) is fresh per attempt, as the spec's
// replay protection requires.
import { Webhook } from "standardwebhooks";
import type { ReleaseEvent } from "../vocabulary.ts";
import type { Release } from "../releases/model.ts";
import { type NinjsItem, type NinjsOptions, toNinjs } from "./ninjs.ts";

export type WebhookType = `release.${ReleaseEvent}`;

export interface WebhookEnvelope {
  type: WebhookType;
  /** When the event happened (not when it was sent): stable across retries. */
  timestamp: string;
  data: NinjsItem;
}

export function webhookId(e: { releaseId: string; revision: number; event: ReleaseEvent }): string {
  return `msg_${e.releaseId}_r${e.revision}_${e.event}`;
}

function eventTime(r: Release, event: ReleaseEvent): string {
  if (event === "withdrawn") return r.withdrawnAt ?? r.updatedAt;
  // An embargo lift happens at the embargo time, after the revision was stored.
  if (event === "published") return Date.parse(r.publishedAt) > Date.parse(r.updatedAt) ? r.publishedAt : r.updatedAt;
  return r.updatedAt;
}

export function buildEnvelope(r: Release, event: ReleaseEvent, o: NinjsOptions): WebhookEnvelope {
  return { type: `release.${event}`, timestamp: eventTime(r, event), data: toNinjs(r, event, o) };
}

/**
 * The three Standard Webhooks headers for one attempt. With several secrets (a rotation in
 * progress) the signature header carries one signature per secret, space-separated, as the
 * spec allows: receivers holding either secret verify it.
 */
export function signatureHeaders(
  secrets: string | string[],
  id: string,
  sentAtMs: number,
  body: string,
): Record<string, string> {
  const sentAt = new Date(sentAtMs);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(sentAtMs / 1000)),
    "webhook-signature": [secrets]
      .flat()
      .map((s) => new Webhook(s).sign(id, sentAt, body))
      .join(" "),
  };
}
