// "deliver" on the partners queue: one signed POST of one release event to one partner.
//
// Ordering (decision: skip superseded). For one partner and one release, an older revision is
// never delivered after a newer one. When a delivery starts and a newer revision (or, within a
// revision, the published event after an embargoed one) has already been queued for the same
// partner, the older one is skipped and logged "superseded": the partner gets the current
// state, not a replay of history it can no longer use. Only one request per partner and
// release is in flight at a time (a Redis lease), so a slow older request cannot be overtaken.
//
// Once per job, even when two runs hold it. A worker starved or paused past its BullMQ lock
// loses the job to another worker while its request may still be about to go out. The lease
// belongs to one run (job id + a random token), not to the job: the second run finds it taken
// and waits in "delayed"; the first checks it still holds the lease just before the POST and
// skips the POST if not; a 2xx is noted (with the lease given back in the same step) so the
// second run, once it gets the lease, finds the job delivered. The lease lasts
// PARTNER_TIMEOUT_MS + SEND_LEASE_MS, so only a pause longer than that inside the request can
// make two POSTs; a crash after the partner answered and before the note makes one more (same
// webhook-id, which partners can deduplicate on).
//
// Isolation. Each attempt is bounded by PARTNER_TIMEOUT_MS; a partner may have at most
// PARTNER_MAX_IN_FLIGHT requests open across all workers, and a delivery that finds its partner
// at the limit goes back to "delayed" without using an attempt; failed attempts wait in
// "delayed" too. So a dead or slow partner holds a few worker slots at most, never all of them.
import { randomUUID } from "node:crypto";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { PartnerDeliveryJob } from "../jobs/queues.ts";
import { countStat } from "../metrics.ts";
import type { Release } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";
import { DeliveryError, jitter, parseRetryAfter } from "./backoff.ts";
import { buildEnvelope, signatureHeaders, webhookId } from "./envelope.ts";
import { PostError, type PostResult, postJson } from "./http-post.ts";
import { type Partner, signingSecrets } from "./model.ts";
import { type Destination, resolveDestination, UnsafeDestinationError } from "./ssrf.ts";
import {
  type AttemptRecord,
  type DeliveryLogEntry,
  type LeaseTimes,
  type PartnerStoreDeps,
  partnerStore,
} from "./store.ts";
import { withPublicOriginals } from "../releases/translations.ts";

/** How long to wait before looking again when the partner or the release is busy. */
const BUSY_WAIT_MS = { partner: 250, release: 100 };

/** The end of one attempt: what to record, then what to tell BullMQ. */
interface Outcome extends AttemptRecord {
  result?: string;
  error?: Error;
  disable?: string;
  /** The lease was gone just before the POST (this run was paused past it): nothing was sent. */
  leaseLost?: boolean;
}

/** What one delivery takes of the runtime: the partner store, the release, the clock and the metrics. */
export type DeliverDeps = PartnerStoreDeps & Pick<Runtime, "releases" | "taxonomy" | "clock" | "log" | "key">;

export async function deliver(job: Job<PartnerDeliveryJob>, rt: DeliverDeps): Promise<string> {
  const d = job.data;
  const store = partnerStore(rt);
  // Both reads in one round trip; the release is only used if the lease below is granted.
  const [partner, release] = await Promise.all([
    store.get(d.partnerId),
    rt.releases.getRevision(d.releaseId, d.revision),
  ]);
  if (!partner) return "skipped: partner removed";
  if (partner.status !== "active") return `skipped: partner disabled (${partner.disabledReason ?? "no reason"})`;

  const run = { jobId: job.id!, holder: `${job.id}.${randomUUID()}` };
  const times: LeaseTimes = {
    slotMs: rt.config.partnerTimeoutMs + 5_000,
    leaseMs: rt.config.partnerTimeoutMs + rt.config.sendLeaseMs,
  };
  const lease = await store.acquire(partner.id, d, run, times, rt.config.partnerMaxInFlight);
  if (lease === "delivered")
    return `skipped: ${webhookId(d)} already delivered to ${partner.id} by another run of this job`;
  if (lease === "superseded") {
    await store.finish(partner.id, d, run, {
      log: logEntry(rt, job, { status: null, durationMs: 0, outcome: "superseded" }),
    });
    return `superseded: a newer revision of ${d.releaseId} is queued for ${partner.id}`;
  }
  if (lease !== "ok")
    return waitInDelayed(job, rt, lease === "partner-busy" ? BUSY_WAIT_MS.partner : BUSY_WAIT_MS.release);
  let outcome: Outcome;
  try {
    const stillMine = () => store.renew(partner.id, d.releaseId, run.holder, times);
    outcome = release
      ? await attempt(job, rt, partner, release, stillMine)
      : { result: `skipped: release ${d.releaseId} r${d.revision} not found` };
  } catch (err) {
    await store.finish(partner.id, d, run); // e.g. Redis trouble: give the lease back, BullMQ retries
    throw err;
  }
  if (outcome.leaseLost) {
    await store.finish(partner.id, d, run); // frees our partner slot; the lease is another run's
    return waitInDelayed(job, rt, BUSY_WAIT_MS.release);
  }
  await store.finish(partner.id, d, run, outcome);
  await countOutcome(rt, partner.id, outcome);
  if (outcome.disable) {
    await store.setStatus(partner.id, "disabled", outcome.disable, new Date(rt.clock.now()).toISOString());
    rt.log.warn({ partner: partner.id }, "partner answered 410 Gone: disabled");
  }
  if (outcome.error) throw outcome.error;
  return outcome.result ?? "done";
}

/** Not an attempt: wait for the slot or the lease in "delayed", where it occupies no worker. */
async function waitInDelayed(job: Job<PartnerDeliveryJob>, rt: Pick<Runtime, "clock">, ms: number): Promise<never> {
  await job.moveToDelayed(rt.clock.now() + jitter(ms), job.token);
  throw new DelayedError();
}

async function countOutcome(rt: Pick<Runtime, "redis" | "key" | "log">, partner: string, o: Outcome): Promise<void> {
  const outcome = o.log?.outcome;
  if (outcome === "delivered") await countStat(rt, "herald_webhooks_delivered_total", { partner });
  else if (outcome === "failed" || outcome === "refused" || outcome === "gone")
    await countStat(rt, "herald_webhooks_failed_total", { partner });
  if (o.deadLetter && o.deadLetter !== "clear") await countStat(rt, "herald_webhooks_dead_lettered_total", { partner });
}

function logEntry(
  rt: Pick<Runtime, "clock">,
  job: Job<PartnerDeliveryJob>,
  e: Pick<DeliveryLogEntry, "status" | "durationMs" | "outcome" | "error">,
): DeliveryLogEntry {
  const d = job.data;
  return {
    at: new Date(rt.clock.now()).toISOString(),
    releaseId: d.releaseId,
    revision: d.revision,
    event: d.event,
    webhookId: webhookId(d),
    attempt: job.attemptsMade + 1,
    ...e,
  };
}

/** One signed POST of the event to the partner, from the destination check to the answer. */
async function attempt(
  job: Job<PartnerDeliveryJob>,
  rt: Pick<Runtime, "releases" | "taxonomy" | "config" | "clock">,
  partner: Partner,
  release: Release,
  stillMine: () => Promise<boolean>,
): Promise<Outcome> {
  // Checked at every delivery: DNS may have changed since the partner was added.
  let dest: Destination;
  try {
    dest = await resolveDestination(partner.url, partner.allowPrivate);
  } catch (err) {
    if (!(err instanceof UnsafeDestinationError)) throw err;
    return failed(rt, job, { status: null, durationMs: 0, error: `refused: ${err.message}`, how: "refused" });
  }
  const body = await envelopeBody(rt, partner, release, job.data.event);
  // Last step before the request leaves: this run may have been paused past its lease.
  if (!(await stillMine())) return { leaseLost: true };
  const started = performance.now();
  let res: PostResult;
  try {
    const headers = signatureHeaders(
      signingSecrets(partner, rt.clock.now()),
      webhookId(job.data),
      rt.clock.now(),
      body,
    );
    res = await postJson(dest, headers, body, rt.config.partnerTimeoutMs);
  } catch (err) {
    const message = err instanceof PostError ? err.message : (err as Error).message;
    return failed(rt, job, {
      status: null,
      durationMs: Math.round(performance.now() - started),
      error: message,
      how: "retry",
    });
  }
  return answered(rt, job, partner, dest, res, Math.round(performance.now() - started));
}

/** The webhook body: the envelope around the release as this partner may see it. */
async function envelopeBody(
  rt: Pick<Runtime, "releases" | "taxonomy" | "config">,
  partner: Partner,
  release: Release,
  event: PartnerDeliveryJob["event"],
): Promise<string> {
  // Without embargo access, a translation of a still-embargoed original does not name it.
  const shown = partner.embargoAccess ? release : (await withPublicOriginals(rt.releases, [release]))[0]!;
  return JSON.stringify(
    buildEnvelope(shown, event, {
      publicUrl: rt.config.publicUrl,
      orgName: rt.config.orgName,
      taxonomy: await rt.taxonomy.current(),
    }),
  );
}

/** What the partner's answer means: delivered (2xx), gone (410: disable), or a failure to retry. */
function answered(
  rt: Pick<Runtime, "clock">,
  job: Job<PartnerDeliveryJob>,
  partner: Partner,
  dest: Destination,
  res: PostResult,
  durationMs: number,
): Outcome {
  const { status } = res;
  if (status >= 200 && status < 300) {
    return {
      log: logEntry(rt, job, { status, durationMs, outcome: "delivered" }),
      deadLetter: "clear",
      delivered: true,
      result: `delivered ${webhookId(job.data)} to ${partner.id} (${status})`,
    };
  }
  if (status === 410) {
    return {
      log: logEntry(rt, job, { status, durationMs, outcome: "gone", error: "partner answered 410 Gone: disabled" }),
      disable: `410 Gone from ${dest.url.host} at ${new Date(rt.clock.now()).toISOString()}`,
      result: `partner ${partner.id} disabled (410 Gone)`,
    };
  }
  const error =
    status >= 300 && status < 400
      ? `answered ${status} (redirect to ${String(res.headers.location ?? "?").slice(0, 200)}; redirects are not followed: give the final URL)`
      : `answered ${status}${res.body ? `: ${res.body.replace(/\s+/g, " ").trim().slice(0, 200)}` : ""}`;
  const retryAfterMs =
    status === 429 || status === 503 ? parseRetryAfter(res.headers["retry-after"], rt.clock.now()) : undefined;
  return failed(rt, job, { status, durationMs, error, how: "retry", retryAfterMs });
}

/**
 * A failed attempt: logged; dead-lettered when it was the last attempt or is not retried
 * ("permanent", "refused"); BullMQ retries a DeliveryError and fails an UnrecoverableError now.
 */
function failed(
  rt: Pick<Runtime, "clock">,
  job: Job<PartnerDeliveryJob>,
  f: {
    status: number | null;
    durationMs: number;
    error: string;
    how: "retry" | "permanent" | "refused";
    retryAfterMs?: number;
  },
): Outcome {
  const d = job.data;
  const attempts = job.attemptsMade + 1;
  const lastAttempt = attempts >= (job.opts.attempts ?? 1);
  const { status, error } = f;
  return {
    log: logEntry(rt, job, {
      status,
      durationMs: f.durationMs,
      outcome: f.how === "refused" ? "refused" : "failed",
      error,
    }),
    ...(lastAttempt || f.how !== "retry"
      ? {
          deadLetter: {
            releaseId: d.releaseId,
            revision: d.revision,
            event: d.event,
            webhookId: webhookId(d),
            attempts,
            status,
            error,
            at: new Date(rt.clock.now()).toISOString(),
          },
        }
      : {}),
    error: f.how === "retry" ? new DeliveryError(error, status, f.retryAfterMs) : new UnrecoverableError(error),
  };
}
