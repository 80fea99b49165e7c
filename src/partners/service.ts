// What ops do with partners (CLI and API share it): add, list, remove, replay.
import { randomBytes } from "node:crypto";
import { invalid, notFound, parseOrThrow } from "../errors.ts";
import { jobId, type PartnerDeliveryJob } from "../jobs/queues.ts";
import { formatIssues } from "../releases/model.ts";
import { slugify } from "../releases/slug.ts";
import type { Runtime } from "../runtime.ts";
import { enqueueDeliveries } from "./fanout.ts";
import {
  generateSecret,
  isWebhookSecret,
  type Partner,
  type PartnerView,
  partnerInputSchema,
  publicView,
} from "./model.ts";
import { resolveDestination } from "./ssrf.ts";
import { type DeadLetter, type DeliveryLogEntry, deliveryKey, type PartnerStoreDeps, partnerStore } from "./store.ts";

// Tests read a partner's log and dead letters through this module, as ops do through the functions below.
export { partnerStore };

export interface AddedPartner {
  partner: PartnerView;
  /** Present only when Herald generated it: shown once, never again. */
  generatedSecret?: string;
}

export interface PartnerSummary {
  partner: PartnerView;
  lastDelivery: DeliveryLogEntry | null;
  deadLetters: number;
}

export async function addPartner(
  rt: PartnerStoreDeps & Pick<Runtime, "taxonomy" | "clock">,
  raw: unknown,
): Promise<AddedPartner> {
  const input = parseOrThrow(partnerInputSchema, raw, "partner");
  // Its filters name topics and regions of the vocabulary: a typo would silently match nothing.
  const unknown = (await rt.taxonomy.current()).unknownIssues(input);
  if (unknown.length) throw invalid(`invalid partner: ${formatIssues(unknown)}`, unknown);
  // Resolves the host now too, so a name pointing inside is refused before it is stored.
  await resolveDestination(input.url, input.allowPrivate);
  const secret = input.secret ?? generateSecret();
  const partner: Partner = {
    id: `${slugify(input.name, 30)}-${randomBytes(3).toString("hex")}`,
    name: input.name,
    url: new URL(input.url).toString(),
    secret,
    topics: input.topics,
    regions: input.regions,
    languages: input.languages,
    embargoAccess: input.embargoAccess,
    allowPrivate: input.allowPrivate,
    status: "active",
    createdAt: new Date(rt.clock.now()).toISOString(),
  };
  await partnerStore(rt).create(partner);
  return { partner: publicView(partner), ...(input.secret ? {} : { generatedSecret: secret }) };
}

/**
 * A new signing secret. For `overlapHours` both secrets sign every delivery (two signatures in
 * webhook-signature), so the partner can switch without losing a delivery; then only the new one.
 */
export async function rotateSecret(
  rt: PartnerStoreDeps & Pick<Runtime, "clock">,
  id: string,
  o: { secret?: string; overlapHours?: number } = {},
): Promise<{ secret: string; previousUntil: string | null }> {
  const store = partnerStore(rt);
  const partner = await store.get(id);
  if (!partner) throw notFound(`no partner with id ${id} (see herald partners list)`);
  if (o.secret !== undefined && !isWebhookSecret(o.secret))
    throw invalid("invalid secret: whsec_ followed by base64 of 24 to 64 bytes (omit it to have one generated)");
  const hours = o.overlapHours ?? 24;
  if (!Number.isFinite(hours) || hours < 0 || hours > 24 * 30)
    throw invalid("invalid --overlap-hours: a number of hours from 0 to 720");
  const secret = o.secret ?? generateSecret();
  const until = hours > 0 ? new Date(rt.clock.now() + hours * 3600_000).toISOString() : null;
  await store.setSecret(id, secret, until ? { secret: partner.secret, until } : undefined);
  return { secret, previousUntil: until };
}

/** Makes a disabled partner (410 Gone, or by hand) active again. */
export async function enablePartner(rt: PartnerStoreDeps & Pick<Runtime, "clock">, id: string): Promise<void> {
  const store = partnerStore(rt);
  if (!(await store.get(id))) throw notFound(`no partner with id ${id} (see herald partners list)`);
  await store.setStatus(id, "active", "", new Date(rt.clock.now()).toISOString());
}

export async function removePartner(rt: PartnerStoreDeps, id: string): Promise<void> {
  if (!(await partnerStore(rt).remove(id))) throw notFound(`no partner with id ${id} (see herald partners list)`);
}

export async function listPartners(rt: PartnerStoreDeps): Promise<PartnerSummary[]> {
  const store = partnerStore(rt);
  const partners = await store.list();
  const dead = await store.deadLetterCounts(partners.map((p) => p.id));
  return Promise.all(
    partners.map(async (p, i) => ({
      partner: publicView(p),
      lastDelivery: (await store.deliveryLog(p.id, 1))[0] ?? null,
      deadLetters: dead[i] ?? 0,
    })),
  );
}

export interface ReplayOptions {
  /** Only events first queued at or after this time (ISO). */
  since?: string;
  /** Only the dead letters (and remove them; a failure records them again). */
  deadLetters?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Queues the partner's past deliveries again, oldest first, with their original webhook-ids.
 * Superseded revisions step aside as usual, so a replay sends each release's newest state.
 */
export async function replayPartner(
  rt: PartnerStoreDeps & Pick<Runtime, "clock" | "queues">,
  id: string,
  o: ReplayOptions = {},
): Promise<{ queued: number; jobIds: string[] }> {
  const store = partnerStore(rt);
  const partner = await store.get(id);
  if (!partner) throw notFound(`no partner with id ${id} (see herald partners list)`);
  if (partner.status !== "active") {
    throw invalid(
      `partner ${id} is disabled (${partner.disabledReason ?? "no reason"}); remove it and add it again with herald partners add to resume deliveries`,
    );
  }
  let sinceMs = 0;
  if (o.since !== undefined) {
    sinceMs = Date.parse(o.since);
    if (!Number.isFinite(sinceMs))
      throw invalid(
        `--since ${JSON.stringify(o.since)} is not a date; give an ISO 8601 time such as 2026-11-28T00:00:00Z`,
      );
  }
  let events: { releaseId: string; revision: number; event: PartnerDeliveryJob["event"] }[];
  let dead: DeadLetter[] = [];
  if (o.deadLetters) {
    dead = (await store.deadLetters(id)).filter((x) => Date.parse(x.at) >= sinceMs);
    events = dead;
  } else {
    events = await store.history(id, sinceMs);
  }
  const at = rt.clock.now();
  const jobIds: string[] = [];
  const batch = 200;
  for (let i = 0; i < events.length; i += batch) {
    const slice = events
      .slice(i, i + batch)
      .map((e) => ({ partnerId: id, releaseId: e.releaseId, revision: e.revision, event: e.event }));
    jobIds.push(...(await enqueueDeliveries(rt, slice, (j) => jobId.partnerReplay(j, at))));
    o.onProgress?.(Math.min(i + batch, events.length), events.length);
  }
  for (const x of dead) await store.clearDeadLetter(id, deliveryKey(x));
  return { queued: jobIds.length, jobIds };
}

/** For `herald status`: counts, and every partner with its state, last delivery and dead letters. */
export async function partnerHealth(rt: PartnerStoreDeps) {
  const rows = await listPartners(rt);
  return {
    active: rows.filter((r) => r.partner.status === "active").length,
    disabled: rows.filter((r) => r.partner.status === "disabled").length,
    deadLetters: rows.reduce((n, r) => n + r.deadLetters, 0),
    partners: rows.map((r) => ({
      id: r.partner.id,
      name: r.partner.name,
      status: r.partner.status,
      disabledReason: r.partner.disabledReason,
      deadLetters: r.deadLetters,
      lastDelivery: r.lastDelivery
        ? { at: r.lastDelivery.at, outcome: r.lastDelivery.outcome, status: r.lastDelivery.status }
        : null,
    })),
  };
}

export function formatPartnerHealth(p: Awaited<ReturnType<typeof partnerHealth>>): string[] {
  return [
    "",
    `partners: ${p.active} active, ${p.disabled} disabled, ${p.deadLetters} dead letter(s)`,
    ...p.partners.map((a) => {
      const state = a.status === "disabled" ? `disabled (${a.disabledReason ?? "no reason"})` : "active";
      const last = a.lastDelivery
        ? `last ${a.lastDelivery.outcome} ${a.lastDelivery.status ?? ""} at ${a.lastDelivery.at}`.replace("  ", " ")
        : "no delivery yet";
      const dead = a.deadLetters
        ? `, ${a.deadLetters} dead letter(s) (herald partners replay ${a.id} --dead-letters)`
        : "";
      return `  ${a.id} ${a.name}: ${state}, ${last}${dead}`;
    }),
  ];
}
