// emails processor: one batch of readers of one segment of one edition. For each reader, in
// this order: is the reader still confirmed (an unsubscribe after enqueue wins), is the
// release still public, has the ledger already got them (a re-run sends nothing twice) and, for
// a digest, has their cursor already reached this digest (they got it, or a newer one, even
// after this edition's ledger expired); then lease, personalise, send, and write the ledger
// only once the SMTP server accepted.
// A permanent (5xx) refusal suppresses the address; transient failures (4xx, connection) make
// the job throw after the batch, so BullMQ retries it with backoff and the ledger skips the
// readers already done. Readers another run of the batch holds are looked at again shortly.
import { listIdOf } from "../config/index.ts";
import { countStat } from "../metrics.ts";
import { DelayedError, type Job } from "bullmq";
import type Mail from "nodemailer/lib/mailer";
import { SendLeases } from "../mail/leases.ts";
import { type Accepted, DIGEST_LEDGER_KEEP_S, Ledger } from "../mail/ledger.ts";
import { messageIdFor, senderDomain } from "../mail/message.ts";
import { fanoutStep, readerSegments, type Segment } from "../mail/segments.ts";
import { isPermanentFailure, mailerFor } from "../mail/transport.ts";
import type { Runtime } from "../runtime.ts";
import { confirmLink, readerLinks } from "../subscribers/links.ts";
import type { Subscriber } from "../subscribers/model.ts";
import { SubscriberService } from "../subscribers/service.ts";
import { requireSecret } from "../subscribers/tokens.ts";
import { personalMail } from "../templates/personalise.ts";
import type { EmailBatchJob } from "../jobs/queues.ts";

/**
 * Messages of one batch in flight at once (the SMTP pool spreads them over its connections).
 * 8 x 4 jobs = two per pool connection keeps every connection busy; more only wait in the
 * pool's queue, where their buffers and stream objects outlive young-generation GCs (16 made
 * the worker's peak RSS ~50 MB higher for the same throughput).
 */
export const IN_FLIGHT = 8;
/** Accepted sends waiting for the ledger before a write starts (a write takes whatever is waiting). */
const LEDGER_GROUP = 16;

export interface BatchResult {
  sent: number;
  skipped: number;
  failed: number;
  retry: number;
  /** Readers another run of this batch holds the lease of: neither sent nor skipped by this run. */
  deferred: number;
  /** When some were deferred: how long until the first of those leases runs out (ms). */
  deferMs?: number;
}

/** Bounds of the wait before a batch with deferred readers looks again (the holder may finish any moment). */
const DEFER_MS = { min: 250, max: 5_000 };

export class TransientSendError extends Error {
  readonly code = "HERALD_SMTP_TRANSIENT";
}

function eligible(kind: EmailBatchJob["kind"], s: Subscriber | null): s is Subscriber {
  if (!s) return false;
  return kind === "confirm" ? s.status === "pending" : s.status === "confirmed";
}

export async function processEmailBatch(job: Job<EmailBatchJob>, rt: Runtime): Promise<BatchResult> {
  const result = await sendBatch(rt, job.data);
  if (result.deferred > 0) {
    // Another run still holds some of these readers (a stalled worker still sending, or a dead
    // one whose leases have not run out): look again in "delayed", without using an attempt,
    // until the ledger has them or their leases expire. Real time: it is BullMQ's schedule.
    const wait = Math.min(DEFER_MS.max, Math.max(DEFER_MS.min, result.deferMs ?? DEFER_MS.min));
    await job.moveToDelayed(Date.now() + Math.round(wait * (0.8 + Math.random() * 0.4)), job.token);
    throw new DelayedError();
  }
  // A digest part's batch: the edition's segments go once its last batch is done (segments.ts).
  if (job.data.part) await fanoutStep(rt, job.data.edition, "done", job.data.part, job.id!);
  return result;
}

export async function sendBatch(rt: Runtime, j: EmailBatchJob): Promise<BatchResult> {
  const ledger = new Ledger(rt.redis, rt.config.prefix);
  const result: BatchResult = { sent: 0, skipped: 0, failed: 0, retry: 0, deferred: 0 };
  // Each reader's segment: the batch's one, or (digests) that of each run of j.segments.
  const segmentOf = await readerSegments(rt, j);
  const own = new Map(j.subscriberIds.map((id, i) => [id, segmentOf[i]]));
  const segment = segmentOf.find((s) => s !== null);
  if (!segment || (await releaseGone(rt, segment))) {
    result.skipped = j.subscriberIds.length;
    await ledger.count(j.edition, "skipped", result.skipped);
    return result;
  }
  const key = requireSecret(rt.config.secretKey);
  const service = new SubscriberService(rt);
  const [subs, done, cursors] = await Promise.all([
    service.store.getMany(j.subscriberIds),
    ledger.sent(j.edition, j.subscriberIds),
    segment.cursor === undefined ? [] : service.store.cursors(j.subscriberIds),
  ]);
  const domain = senderDomain(rt.config.mailFrom);
  const listId = listIdOf(rt.config);
  const mailer = mailerFor(rt);
  const leases = new SendLeases(ledger, j.edition, rt.config.sendLeaseMs);
  let lastTransient: unknown;
  // Accepted by the server, not yet in the ledger. One ledger write at a time takes all of them
  // while the other sends go on; the batch ends only once every one is written.
  let accepted: Accepted[] = [];
  const keep = j.kind === "digest" ? DIGEST_LEDGER_KEEP_S : undefined;
  let writing: Promise<void> | null = null;
  let ledgerError: unknown;
  const writeLedger = (): Promise<void> => {
    if (!writing && accepted.length > 0) {
      writing = (async () => {
        while (accepted.length > 0 && ledgerError === undefined) {
          const group = accepted;
          accepted = [];
          try {
            await ledger.record(j.edition, group, keep);
            leases.recorded(group.map((a) => a.subscriberId));
          } catch (err) {
            ledgerError = err; // no more sends: the job fails, and its retry skips what was recorded
          }
        }
        writing = null;
      })();
    }
    return writing ?? Promise.resolve();
  };

  // Builds one reader's message. A plain function, so the personalised HTML and text are garbage
  // the moment the raw message exists: kept in the sending async frame, they lived through each
  // send and a quarter of all allocation was promoted to the old generation (RSS grew with it).
  const compose = (s: Subscriber): Mail.Options => {
    const segment = own.get(s.id)!;
    const links = readerLinks(rt.config.publicUrl, key, s.id);
    const confirmUrl = j.kind === "confirm" ? confirmLink(rt.config.publicUrl, key, s.id, rt.clock.now()) : undefined;
    // A confirmation goes to an address someone typed into a public form, with a name they typed
    // too: it names nobody (no display name in To:, a plain greeting), so a stranger's text never
    // reaches an inbox that did not ask for it.
    const name = j.kind === "confirm" ? undefined : s.name;
    // The segment's body is encoded once; this reader's values are spliced in (personalise.ts).
    return personalMail(
      segment.message,
      {
        name,
        language: s.language,
        timezone: s.timezone,
        unsubscribeUrl: links.unsubscribe,
        preferencesUrl: links.preferences,
        confirmUrl,
      },
      {
        from: rt.config.mailFrom,
        to: { name, address: s.email },
        messageId: messageIdFor(j.edition, s.id, domain),
        language: segment.language,
        unsubscribeUrl: j.kind === "confirm" ? undefined : links.unsubscribe,
        // A confirmation is not list mail: the address is not on the list until it confirms.
        listId: j.kind === "confirm" ? undefined : listId,
      },
      rt.clock.now(),
    );
  };

  const sendOne = async (s: Subscriber) => {
    const segment = own.get(s.id)!;
    const lease = await leases.keep(s.id);
    if (lease !== "mine") {
      if (lease === "busy") result.deferred += 1; // "done": another run sent it (and counted it)
      return;
    }
    const mail = compose(s);
    try {
      await mailer.send(mail);
    } catch (err) {
      if (isPermanentFailure(err)) {
        result.failed += 1;
        await service.suppress(
          s.id,
          "bounced",
          String((err as { response?: string }).response ?? (err as Error).message),
        );
        return;
      }
      result.retry += 1;
      lastTransient = err;
      return;
    }
    // The server has it: from here on this reader must never get this edition again. The
    // ledger write follows within LEDGER_GROUP sends (a crash in between resends at most those);
    // until then the lease stays ours, so no other run sends it meanwhile.
    leases.sent(s.id);
    accepted.push({ subscriberId: s.id, releaseIds: segment.contentIds, cursor: segment.cursor });
    result.sent += 1;
    if (accepted.length >= LEDGER_GROUP) void writeLedger();
  };

  let todo: Subscriber[] = [];
  subs.forEach((s, i) => {
    if (done[i]) return; // already accepted in an earlier run: counted then
    const segment = segmentOf[i];
    if (!segment)
      result.skipped += 1; // its segment expired: nothing left to send
    else if (segment.cursor !== undefined && (cursors[i] ?? -Infinity) >= segment.cursor)
      result.skipped += 1; // has this digest or a newer one
    else if (eligible(j.kind, s)) todo.push(s);
    else result.skipped += 1;
  });
  if (j.kind === "alert" && segment.storyId) {
    // A reader gets one version of a story: another alert edition may have claimed them.
    const mine = await ledger.claimStory(
      segment.storyId,
      j.edition,
      todo.map((s) => s.id),
    );
    result.skipped += mine.filter((m) => !m).length;
    todo = todo.filter((_, i) => mine[i]);
  }
  // Send once per reader per edition, even when two runs hold this batch (BullMQ hands a job to
  // a second worker when the first, starved or paused, misses its lock renewal while it is still
  // sending). A run sends a reader only under its lease (src/mail/leases.ts): taken here for the
  // whole batch together with the ledger check, confirmed before each send, kept until the
  // ledger write. A reader another run holds is deferred (looked at again later), never counted
  // here. So a second send can come from a crash between SMTP acceptance and the ledger write
  // (the dead run's lease expires, the retry sends), not from a stall (unless the run is paused
  // for over half a lease, SEND_LEASE_MS, between its last check and the ledger write).
  const { states, busyMs } = await leases.take(todo.map((s) => s.id));
  result.deferred += states.filter((st) => st === "busy").length;
  if (busyMs >= 0) result.deferMs = busyMs;
  todo = todo.filter((_, i) => states[i] === "mine");

  // IN_FLIGHT lanes, each sending its next reader as soon as its last one settled (no waiting
  // for the slowest of a group). A lane that throws stops them all; what was accepted is written.
  let next = 0;
  let stop = false;
  const lane = async () => {
    while (!stop && ledgerError === undefined && next < todo.length) {
      try {
        await sendOne(todo[next++]!);
      } catch (err) {
        stop = true;
        throw err;
      }
    }
  };
  let settled: PromiseSettledResult<void>[];
  try {
    settled = await Promise.allSettled(Array.from({ length: Math.min(IN_FLIGHT, todo.length) }, lane));
    await writeLedger();
  } finally {
    // Gives back the leases of readers not sent; if Redis is away they expire by themselves.
    await leases.end().catch(() => {});
  }
  // Counted once per batch (the ledger has each send; this is only the metric).
  await countStat(rt, "herald_emails_sent_total", { kind: j.kind }, result.sent);
  if (ledgerError !== undefined) throw ledgerError;
  const failure = settled.find((x) => x.status === "rejected");
  if (failure) throw failure.reason;
  await ledger.count(j.edition, "skipped", result.skipped);
  await ledger.count(j.edition, "failed", result.failed);
  await countStat(rt, "herald_emails_suppressed_total", {}, result.skipped);
  await countStat(rt, "herald_emails_bounced_total", {}, result.failed);
  if (result.retry > 0) {
    const reason = (lastTransient as Error)?.message ?? "unknown";
    throw new TransientSendError(
      `${result.retry} of ${j.subscriberIds.length} message(s) not accepted yet (${reason}); retrying`,
    );
  }
  return result;
}

/** Alerts and notices stop once the release is withdrawn (or deleted). */
async function releaseGone(rt: Runtime, s: Segment): Promise<boolean> {
  if (!s.releaseId) return false;
  const current = await rt.releases.get(s.releaseId);
  return !current || current.status === "withdrawn";
}
