// "deliver" on the partners queue: one signed POST of one release event to one partner.
//
// Ordering (decision: skip superseded). For one partner and one release, an older revision is
// never delivered after a newer one. When a delivery starts and a newer revision (or, within a
// revision, the published event after an embargoed one) has already been queued for the same
// partner, the older one is skipped and logged "superseded": the partner gets the current
// state, not a replay of history it can no longer use. Only one request per partner and
// release is in flight at a time (a Redis lease), so a slow older request cannot be overtaken.
//
// Isolation. Each attempt is bounded by PARTNER_TIMEOUT_MS; a partner may have at most
// PARTNER_MAX_IN_FLIGHT requests open across all workers, and a delivery that finds its partner
// at the limit goes back to "delayed" without using an attempt; failed attempts wait in
// "delayed" too. So a dead or slow partner holds a few worker slots at most, never all of them.
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { PartnerDeliveryJob } from "../jobs/queues.ts";
import type { Runtime } from "../runtime.ts";
import { DeliveryError, jitter, parseRetryAfter } from "./backoff.ts";
import { buildEnvelope, signatureHeaders, webhookId } from "./envelope.ts";
import { PostError, type PostResult, postJson } from "./http-post.ts";
import { type Destination, resolveDestination, UnsafeDestinationError } from "./ssrf.ts";
import { type DeliveryLogEntry, deliveryKey, orderKey, PartnerStore } from "./store.ts";

/** How long to wait before looking again when the partner or the release is busy. */
const BUSY_WAIT_MS = { partner: 250, release: 100 };

export async function deliver(job: Job<PartnerDeliveryJob>, rt: Runtime): Promise<string> {
  const d = job.data;
  const store = new PartnerStore(rt.redis, rt.config.prefix);
  const partner = await store.get(d.partnerId);
  if (!partner) return "skipped: partner removed";
  if (partner.status !== "active") return `skipped: partner disabled (${partner.disabledReason ?? "no reason"})`;

  const holder = job.id!;
  const lease = await store.acquire(partner.id, d.releaseId, holder, rt.config.partnerTimeoutMs + 5_000, rt.config.partnerMaxInFlight);
  if (lease !== "ok") {
    // Not an attempt: wait for the slot in "delayed", where it occupies no worker.
    await job.moveToDelayed(rt.clock.now() + jitter(lease === "partner-busy" ? BUSY_WAIT_MS.partner : BUSY_WAIT_MS.release), job.token);
    throw new DelayedError();
  }
  try {
    return await attempt(job, rt, store, partner);
  } finally {
    await store.release(partner.id, d.releaseId, holder);
  }
}

async function attempt(job: Job<PartnerDeliveryJob>, rt: Runtime, store: PartnerStore, partner: NonNullable<Awaited<ReturnType<PartnerStore["get"]>>>): Promise<string> {
  const d = job.data;
  const attemptNo = job.attemptsMade + 1;
  const lastAttempt = attemptNo >= (job.opts.attempts ?? 1);
  const id = webhookId(d);
  const base = { releaseId: d.releaseId, revision: d.revision, event: d.event, webhookId: id, attempt: attemptNo };
  const record = (e: Omit<DeliveryLogEntry, keyof typeof base | "at">) => store.log(partner.id, { at: new Date(rt.clock.now()).toISOString(), ...base, ...e });

  const latest = await store.latest(partner.id, d.releaseId);
  if (latest > orderKey(d.revision, d.event)) {
    await record({ status: null, durationMs: 0, outcome: "superseded" });
    return `superseded: a newer revision of ${d.releaseId} is queued for ${partner.id}`;
  }
  const release = await rt.releases.getRevision(d.releaseId, d.revision);
  if (!release) return `skipped: release ${d.releaseId} r${d.revision} not found`;

  const fail = async (status: number | null, error: string, retryAfterMs?: number, permanent = false): Promise<never> => {
    if (lastAttempt || permanent) {
      await store.addDeadLetter(partner.id, { ...base, attempts: attemptNo, status, error, at: new Date(rt.clock.now()).toISOString() });
    }
    if (permanent) throw new UnrecoverableError(error);
    throw new DeliveryError(error, status, retryAfterMs);
  };

  // Checked at every delivery: DNS may have changed since the partner was added.
  let dest: Destination;
  try {
    dest = await resolveDestination(partner.url, partner.allowPrivate);
  } catch (err) {
    if (!(err instanceof UnsafeDestinationError)) throw err;
    await record({ status: null, durationMs: 0, outcome: "refused", error: err.message });
    return fail(null, `refused: ${err.message}`, undefined, true);
  }

  const body = JSON.stringify(buildEnvelope(release, d.event, { publicUrl: rt.config.publicUrl, orgName: rt.config.orgName }));
  const started = performance.now();
  let res: PostResult;
  try {
    res = await postJson(dest, signatureHeaders(partner.secret, id, rt.clock.now(), body), body, rt.config.partnerTimeoutMs);
  } catch (err) {
    const durationMs = Math.round(performance.now() - started);
    const message = err instanceof PostError ? err.message : (err as Error).message;
    await record({ status: null, durationMs, outcome: "failed", error: message });
    return fail(null, message);
  }
  const durationMs = Math.round(performance.now() - started);
  const { status } = res;

  if (status >= 200 && status < 300) {
    await record({ status, durationMs, outcome: "delivered" });
    await store.clearDeadLetter(partner.id, deliveryKey(d));
    return `delivered ${id} to ${partner.id} (${status})`;
  }
  if (status === 410) {
    const reason = `410 Gone from ${dest.url.host} at ${new Date(rt.clock.now()).toISOString()}`;
    await store.setStatus(partner.id, "disabled", reason, new Date(rt.clock.now()).toISOString());
    await record({ status, durationMs, outcome: "gone", error: "partner answered 410 Gone: disabled" });
    rt.log.warn({ partner: partner.id }, "partner answered 410 Gone: disabled");
    return `partner ${partner.id} disabled (410 Gone)`;
  }
  const detail =
    status >= 300 && status < 400
      ? `answered ${status} (redirect to ${String(res.headers.location ?? "?").slice(0, 200)}; redirects are not followed: give the final URL)`
      : `answered ${status}${res.body ? `: ${res.body.replace(/\s+/g, " ").trim().slice(0, 200)}` : ""}`;
  await record({ status, durationMs, outcome: "failed", error: detail });
  const retryAfter = status === 429 || status === 503 ? parseRetryAfter(res.headers["retry-after"], rt.clock.now()) : undefined;
  return fail(status, detail, retryAfter);
}
