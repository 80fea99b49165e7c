// emails processor: one batch of readers of one segment of one edition. For each reader, in
// this order: is the reader still confirmed (an unsubscribe after enqueue wins), is the
// release still public, has the ledger already got them (a re-run sends nothing twice) and, for
// a digest, has their cursor already reached this digest (they got it, or a newer one, even
// after this edition's ledger expired); then lease, personalise, send, and write the ledger
// only once the SMTP server accepted (sendOnce says why, in that order).
// A permanent (5xx) refusal suppresses the address; transient failures (4xx, connection) make
// the job throw after the batch, so BullMQ retries it with backoff and the ledger skips the
// readers already done. Readers another run of the batch holds are looked at again shortly.
import { listIdOf } from "../config/index.ts";
import { countStat } from "../metrics.ts";
import { DelayedError, type Job } from "bullmq";
import type Mail from "nodemailer/lib/mailer";
import { inLanes, type LaneFailure } from "../mail/lanes.ts";
import { SendLeases } from "../mail/leases.ts";
import { type Accepted, DIGEST_LEDGER_KEEP_S, type Ledger, type LedgerDeps, ledgerOf } from "../mail/ledger.ts";
import { LedgerWriter } from "../mail/ledger-writer.ts";
import { messageIdFor, recycleRaw, senderDomain } from "../mail/message.ts";
import { fanoutStep, readerSegments, type Segment, type SegmentReadDeps } from "../mail/segments.ts";
import { isPermanentFailure, type Mailer, mailerFor } from "../mail/transport.ts";
import type { Runtime } from "../runtime.ts";
import { confirmLink, readerLinks } from "../subscribers/links.ts";
import { isSuppressed, type Subscriber } from "../subscribers/model.ts";
import { type SubscriberDeps, SubscriberService } from "../subscribers/service.ts";
import type { SubscriberStore } from "../subscribers/store.ts";
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

/**
 * Why a run did not send a reader: the `reason` label of herald_emails_skipped_total (README,
 * "Dashboard and metrics"). All but the last two are final for this edition and counted in the
 * ledger's progress as skipped; "already-sent" and "held-by-other-run" are not skips of the
 * edition (an earlier run sent it; another run may still), only of this run.
 */
type SkipReason =
  | "unsubscribed" // the reader unsubscribed after the batch was planned
  | "suppressed" // bounced or complained: never mailed again
  | "erased" // the subscriber record is gone
  | "not-confirmed" // list mail to a reader who is pending again (unsubscribed, then asked anew)
  | "already-confirmed" // a confirmation request to a reader already confirmed
  | "has-newer-digest" // has this digest or a newer one (their digest cursor)
  | "story-claimed" // another alert edition of the same story has the reader (one alert per story)
  | "release-withdrawn" // alerts and notices: the release was withdrawn or deleted
  | "segment-expired" // the batch ran after its rendered segment expired (segments.ts)
  | "already-sent" // in the ledger: an earlier run of this batch sent it
  | "held-by-other-run"; // another run holds the reader's send lease: deferred, looked at again

type FinalSkip = Exclude<SkipReason, "already-sent" | "held-by-other-run">;

/** Why this reader may not get a mail of this kind now, or null when they may. */
function ineligible(kind: EmailBatchJob["kind"], s: Subscriber | null): FinalSkip | null {
  if (!s) return "erased";
  if (s.status === (kind === "confirm" ? "pending" : "confirmed")) return null;
  if (isSuppressed(s)) return "suppressed";
  if (s.status === "unsubscribed") return "unsubscribed";
  return kind === "confirm" ? "already-confirmed" : "not-confirmed";
}

/** What one run did with its readers: the BatchResult, and the reason of every skip. */
class Tally {
  readonly result: BatchResult = { sent: 0, skipped: 0, failed: 0, retry: 0, deferred: 0 };
  readonly skips = new Map<SkipReason, number>();
  /** The last transient SMTP failure, named in the retry's message. */
  lastTransient: unknown;

  /** Not to be sent this edition: counted as skipped in the ledger's progress too. */
  skip(reason: FinalSkip, n = 1): void {
    this.result.skipped += n;
    this.note(reason, n);
  }

  /** Another run holds the lease: looked at again later, neither sent nor skipped by this run. */
  defer(n = 1): void {
    this.result.deferred += n;
    this.note("held-by-other-run", n);
  }

  /** The ledger has it: sent (and counted) by an earlier run. */
  done(n = 1): void {
    this.note("already-sent", n);
  }

  private note(reason: SkipReason, n: number): void {
    if (n > 0) this.skips.set(reason, (this.skips.get(reason) ?? 0) + n);
  }
}

/** What counting a run takes of the runtime (metrics.ts countStat). */
type CountDeps = Pick<Runtime, "redis" | "key" | "log">;

/** herald_emails_skipped_total, once per batch and reason. */
async function countSkips(rt: CountDeps, tally: Tally): Promise<void> {
  for (const [reason, n] of tally.skips) await countStat(rt, "herald_emails_skipped_total", { reason }, n);
}

/** What sending a batch takes of the runtime: the ledger, the segments, the readers, the releases. */
type SendDeps = LedgerDeps & SegmentReadDeps & SubscriberDeps & Pick<Runtime, "releases">;

export async function processEmailBatch(job: Job<EmailBatchJob>, rt: SendDeps): Promise<BatchResult> {
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

export async function sendBatch(rt: SendDeps, j: EmailBatchJob): Promise<BatchResult> {
  const ledger = ledgerOf(rt);
  // Each reader's segment: the batch's one, or (digests) that of each run of j.segments.
  const segmentOf = await readerSegments(rt, j);
  const own = new Map(j.subscriberIds.map((id, i) => [id, segmentOf[i] ?? null]));
  const segment = segmentOf.find((s) => s !== null);
  if (!segment || (await releaseGone(rt, segment)))
    return skipAll(rt, j, ledger, segment ? "release-withdrawn" : "segment-expired");
  const tally = new Tally();
  const compose = composer(rt, j, own);
  const service = new SubscriberService(rt);
  const leases = new SendLeases(ledger, j.edition, rt.config.sendLeaseMs);
  const readers = await leaseReaders(leases, await readersToSend(j, segmentOf, ledger, service.store, tally), tally);
  const writer = new LedgerWriter(ledger, j.edition, j.kind === "digest" ? DIGEST_LEDGER_KEEP_S : undefined, leases);
  const run: SendRun = {
    leases,
    mailer: mailerFor(rt),
    compose,
    bounce: (id, why) => service.suppress(id, "bounced", why),
    writer,
    accepted: (id) => {
      const mine = own.get(id)!;
      return { subscriberId: id, releaseIds: mine.contentIds, cursor: mine.cursor };
    },
    tally,
  };
  let laneFailure: LaneFailure | undefined;
  try {
    // A lane that throws stops them all; a failed ledger write stops every send. What was
    // accepted is written either way.
    laneFailure = await inLanes(
      readers,
      IN_FLIGHT,
      (s) => sendOnce(s, run),
      () => writer.failure() !== undefined,
    );
    await writer.flush();
  } finally {
    // Gives back the leases of readers not sent; if Redis is away they expire by themselves.
    await leases.end().catch(() => {});
  }
  return finish(rt, j, ledger, tally, writer.failure() ?? laneFailure);
}

/** What sendOnce needs of its run: one reader's lease, message, send and record. */
interface SendRun {
  leases: Pick<SendLeases, "keep" | "sent">;
  mailer: Pick<Mailer, "send">;
  compose(s: Subscriber): Mail.Options;
  /** A permanent refusal: the address is suppressed (bounced), with the server's answer. */
  bounce(id: string, why: string): Promise<void>;
  writer: Pick<LedgerWriter, "add">;
  accepted(id: string): Accepted;
  tally: Tally;
}

// Send once: Herald's first promise. A reader gets each edition once, and is in the ledger only
// after the SMTP server accepted their message: a refused or failed send is never recorded (a
// 5xx suppresses the address, anything else is left to the job's retry), and an accepted one is
// never sent again.
// Once even when two runs hold this batch: BullMQ hands a job to a second worker when the first,
// starved or paused, misses its lock renewal while it is still sending. So a run sends a reader
// only under its lease (src/mail/leases.ts): taken for the whole batch together with the ledger
// check (leaseReaders), confirmed here just before the send, and kept after acceptance until the
// ledger write (LedgerWriter, within LEDGER_GROUP sends). A reader another run holds is deferred
// (looked at again later), never counted here. So a second send can come only from a crash
// between acceptance and the ledger write (the dead run's lease expires, the retry sends), or
// from a pause of this run longer than half a lease (SEND_LEASE_MS) between check and write.
async function sendOnce(s: Subscriber, run: SendRun): Promise<void> {
  const lease = await run.leases.keep(s.id);
  if (lease === "busy") return run.tally.defer();
  if (lease === "done") return run.tally.done(); // another run sent it (and counted it)
  const mail = run.compose(s);
  try {
    await run.mailer.send(mail);
  } catch (err) {
    if (isPermanentFailure(err)) {
      run.tally.result.failed += 1;
      await run.bounce(s.id, String((err as { response?: string }).response ?? (err as Error).message));
    } else {
      run.tally.result.retry += 1;
      run.tally.lastTransient = err;
    }
    return;
  }
  // The server has it: from here on this reader must never get this edition again. The lease
  // stays ours (renewed) until the ledger write, so no other run sends it meanwhile.
  recycleRaw(mail);
  run.leases.sent(s.id);
  run.writer.add(run.accepted(s.id));
  run.tally.result.sent += 1;
}

/**
 * The readers of the batch this run should send to, in the order of the header: still eligible,
 * not in the ledger, no newer digest, and (alerts) the story not claimed by another edition.
 * Every other is tallied with its reason.
 */
async function readersToSend(
  j: EmailBatchJob,
  segmentOf: (Segment | null)[],
  ledger: Pick<Ledger, "sent" | "claimStory">,
  store: Pick<SubscriberStore, "getMany" | "cursors">,
  tally: Tally,
): Promise<Subscriber[]> {
  const [subs, done, cursors] = await Promise.all([
    store.getMany(j.subscriberIds),
    ledger.sent(j.edition, j.subscriberIds),
    segmentOf.every((sg) => sg?.cursor === undefined) ? [] : store.cursors(j.subscriberIds),
  ]);
  const todo: Subscriber[] = [];
  subs.forEach((s, i) => {
    if (done[i]) {
      tally.done(); // accepted in an earlier run: counted then
      return;
    }
    const segment = segmentOf[i];
    const hasNewer = segment?.cursor !== undefined && (cursors[i] ?? -Infinity) >= segment.cursor;
    const why = !segment ? "segment-expired" : hasNewer ? "has-newer-digest" : ineligible(j.kind, s);
    if (why) tally.skip(why);
    else todo.push(s!);
  });
  // An alert batch has one segment (j.segments is a digest's).
  const segment = segmentOf[0];
  if (j.kind !== "alert" || !segment?.storyId) return todo;
  // A reader gets one version of a story: another alert edition may have claimed them.
  const mine = await ledger.claimStory(
    segment.storyId,
    j.edition,
    todo.map((s) => s.id),
  );
  tally.skip("story-claimed", mine.filter((m) => !m).length);
  return todo.filter((_, i) => mine[i]);
}

/** Takes this run's leases for the whole batch (see sendOnce); returns the readers it holds. */
async function leaseReaders(leases: SendLeases, todo: Subscriber[], tally: Tally): Promise<Subscriber[]> {
  const { states, busyMs } = await leases.take(todo.map((s) => s.id));
  tally.defer(states.filter((st) => st === "busy").length);
  tally.done(states.filter((st) => st === "done").length);
  if (busyMs >= 0) tally.result.deferMs = busyMs;
  return todo.filter((_, i) => states[i] === "mine");
}

/** Nobody of this batch gets this edition any more. */
async function skipAll(rt: CountDeps, j: EmailBatchJob, ledger: Ledger, reason: FinalSkip): Promise<BatchResult> {
  const tally = new Tally();
  tally.skip(reason, j.subscriberIds.length);
  await ledger.count(j.edition, "skipped", tally.result.skipped);
  await countSkips(rt, tally);
  return tally.result;
}

/** Counts the run and says how it ended: a failure or transient refusals throw (BullMQ retries). */
async function finish(
  rt: CountDeps,
  j: EmailBatchJob,
  ledger: Ledger,
  tally: Tally,
  failure: { error: unknown } | undefined,
): Promise<BatchResult> {
  const { result } = tally;
  // Counted once per batch (the ledger has each send; this is only the metric).
  await countStat(rt, "herald_emails_sent_total", { kind: j.kind }, result.sent);
  if (failure) throw failure.error;
  await ledger.count(j.edition, "skipped", result.skipped);
  await ledger.count(j.edition, "failed", result.failed);
  await countSkips(rt, tally);
  await countStat(rt, "herald_emails_bounced_total", {}, result.failed);
  if (result.retry > 0) {
    const reason = (tally.lastTransient as Error)?.message ?? "unknown";
    throw new TransientSendError(
      `${result.retry} of ${j.subscriberIds.length} message(s) not accepted yet (${reason}); retrying`,
    );
  }
  return result;
}

// Builds one reader's message. A plain function, so the personalised HTML and text are garbage
// the moment the raw message exists: kept in the sending async frame, they lived through each
// send and a quarter of all allocation was promoted to the old generation (RSS grew with it).
function composer(
  rt: Pick<Runtime, "config" | "clock">,
  j: EmailBatchJob,
  own: Map<string, Segment | null>,
): (s: Subscriber) => Mail.Options {
  const key = requireSecret(rt.config.secretKey);
  const domain = senderDomain(rt.config.mailFrom);
  const listId = listIdOf(rt.config);
  return (s) => {
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
}

/** Alerts and notices stop once the release is withdrawn (or deleted). */
async function releaseGone(rt: Pick<Runtime, "releases">, s: Segment): Promise<boolean> {
  if (!s.releaseId) return false;
  const current = await rt.releases.get(s.releaseId);
  return !current || current.status === "withdrawn";
}
