// emails processor: one batch of readers of one segment of one edition. For each reader, in
// this order: is the reader still confirmed (an unsubscribe after enqueue wins), is the
// release still public, has the ledger already got them (a re-run sends nothing twice); then
// personalise, send, and write the ledger only once the SMTP server accepted.
// A permanent (5xx) refusal suppresses the address; transient failures (4xx, connection) make
// the job throw after the batch, so BullMQ retries it with backoff and the ledger skips the
// readers already done.
import { countStat } from "../metrics.ts";
import type { Job } from "bullmq";
import { type Accepted, Ledger } from "../mail/ledger.ts";
import { buildMail, messageIdFor, senderDomain } from "../mail/message.ts";
import { loadSegment, type Segment } from "../mail/segments.ts";
import { isPermanentFailure, mailerFor } from "../mail/transport.ts";
import type { Runtime } from "../runtime.ts";
import { confirmLink, readerLinks } from "../subscribers/links.ts";
import type { Subscriber } from "../subscribers/model.ts";
import { SubscriberService } from "../subscribers/service.ts";
import { requireSecret } from "../subscribers/tokens.ts";
import { personalise } from "../templates/personalise.ts";
import type { EmailBatchJob } from "./queues.ts";

/** Messages of one batch in flight at once (the SMTP pool spreads them over its connections). */
export const IN_FLIGHT = 16;

export interface BatchResult {
  sent: number;
  skipped: number;
  failed: number;
  retry: number;
}

export class TransientSendError extends Error {
  readonly code = "HERALD_SMTP_TRANSIENT";
}

function eligible(kind: EmailBatchJob["kind"], s: Subscriber | null): s is Subscriber {
  if (!s) return false;
  return kind === "confirm" ? s.status === "pending" : s.status === "confirmed";
}

export async function processEmailBatch(job: Job<EmailBatchJob>, rt: Runtime): Promise<BatchResult> {
  return sendBatch(rt, job.data);
}

export async function sendBatch(rt: Runtime, j: EmailBatchJob): Promise<BatchResult> {
  const ledger = new Ledger(rt.redis, rt.config.prefix);
  const result: BatchResult = { sent: 0, skipped: 0, failed: 0, retry: 0 };
  const segment = await loadSegment(rt, j);
  if (!segment || (await releaseGone(rt, segment))) {
    result.skipped = j.subscriberIds.length;
    await ledger.count(j.edition, "skipped", result.skipped);
    return result;
  }
  const key = requireSecret(rt.config.secretKey);
  const service = new SubscriberService(rt);
  const [subs, done] = await Promise.all([service.store.getMany(j.subscriberIds), ledger.sent(j.edition, j.subscriberIds)]);
  const domain = senderDomain(rt.config.mailFrom);
  const mailer = mailerFor(rt);
  let lastTransient: unknown;
  let accepted: Accepted[] = [];

  const sendOne = async (s: Subscriber) => {
    const links = readerLinks(rt.config.publicUrl, key, s.id);
    const confirmUrl = j.kind === "confirm" ? confirmLink(rt.config.publicUrl, key, s.id, rt.clock.now()) : undefined;
    const body = personalise(segment.message, {
      name: s.name,
      language: s.language,
      timezone: s.timezone,
      unsubscribeUrl: links.unsubscribe,
      preferencesUrl: links.preferences,
      confirmUrl,
    });
    const mail = buildMail({
      from: rt.config.mailFrom,
      to: { name: s.name, address: s.email },
      ...body,
      messageId: messageIdFor(j.edition, s.id, domain),
      language: segment.language,
      unsubscribeUrl: j.kind === "confirm" ? undefined : links.unsubscribe,
    }, rt.clock.now());
    try {
      await mailer.send(mail);
    } catch (err) {
      if (isPermanentFailure(err)) {
        result.failed += 1;
        await service.suppress(s.id, "bounced", String((err as { response?: string }).response ?? (err as Error).message));
        return;
      }
      result.retry += 1;
      lastTransient = err;
      return;
    }
    // The server has it: from here on this reader must never get this edition again. The
    // ledger is written for each group of IN_FLIGHT right after they were accepted.
    accepted.push({ subscriberId: s.id, releaseIds: segment.contentIds, cursor: segment.cursor });
    result.sent += 1;
  };

  let todo: Subscriber[] = [];
  subs.forEach((s, i) => {
    if (done[i]) return; // already accepted in an earlier run: counted then
    if (eligible(j.kind, s)) todo.push(s);
    else result.skipped += 1;
  });
  if (j.kind === "alert" && segment.storyId) {
    // A reader gets one version of a story: another alert edition may have claimed them.
    const mine = await ledger.claimStory(segment.storyId, j.edition, todo.map((s) => s.id));
    result.skipped += mine.filter((m) => !m).length;
    todo = todo.filter((_, i) => mine[i]);
  }
  for (let i = 0; i < todo.length; i += IN_FLIGHT) {
    // allSettled: whatever else fails, the accepted ones are recorded before anything throws.
    const settled = await Promise.allSettled(todo.slice(i, i + IN_FLIGHT).map(sendOne));
    await ledger.record(j.edition, accepted);
    await countStat(rt, "herald_emails_sent_total", { kind: j.kind }, accepted.length);
    accepted = [];
    const failure = settled.find((x) => x.status === "rejected");
    if (failure) throw failure.reason;
  }
  await ledger.count(j.edition, "skipped", result.skipped);
  await ledger.count(j.edition, "failed", result.failed);
  await countStat(rt, "herald_emails_suppressed_total", {}, result.skipped);
  await countStat(rt, "herald_emails_bounced_total", {}, result.failed);
  if (result.retry > 0) {
    const reason = (lastTransient as Error)?.message ?? "unknown";
    throw new TransientSendError(`${result.retry} of ${j.subscriberIds.length} message(s) not accepted yet (${reason}); retrying`);
  }
  return result;
}

/** Alerts and notices stop once the release is withdrawn (or deleted). */
async function releaseGone(rt: Runtime, s: Segment): Promise<boolean> {
  if (!s.releaseId) return false;
  const current = await rt.releases.get(s.releaseId);
  return !current || current.status === "withdrawn";
}
