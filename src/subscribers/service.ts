// Subscribing, confirming, changing preferences, unsubscribing, importing and suppressing.
// Shared by the pages, the API and the CLI so all behave the same.
// No enumeration: subscribe() gives the caller the same answer whatever state the address is in;
// only the email it may trigger differs, and at most one per address per hour.
//
// Every write is a change applied to the *current* record inside the store's compare-and-set
// (store.apply): a writer that raced another re-reads and decides again. Which operations may
// move a reader out of a suppressed status (the contract; tested in subscriber-changes.test.ts
// and, under concurrency, subscriber-races.test.ts):
//   unsubscribed -> pending     only subscribe(): the reader asks again on the public form, and
//                               only confirm() (the link mailed to that address) then makes them
//                               confirmed.
//   bounced / complained        never; only erasing the reader (`herald subscribers remove`)
//                               forgets them, after which the address is new.
// Nothing else changes a status out of unsubscribed, bounced or complained: preferences, CLI/API
// adds and CSV imports (even with `confirmed`) keep it, and confirm() only moves pending.
// So an unsubscribe, bounce or complaint is never undone by a write that read the record before it.
import { jobId, QUEUE, type EmailBatchJob } from "../jobs/queues.ts";
import { invalid, notFound } from "../errors.ts";
import { formatIssues } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";
import {
  isSuppressed,
  mailboxKey,
  type ParsedSubscriberInput,
  parseSubscriberInput,
  parseSubscriberPatch,
  type Subscriber,
  type SubscriberPatch,
} from "./model.ts";
import { type Applied, type SubscriberStore, subscriberId } from "./store.ts";

const HOUR = 3600_000;

const THROTTLE = `
local last = redis.call('GET', KEYS[1])
if last and tonumber(ARGV[1]) - tonumber(last) < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/**
 * The runtime's one SubscriberStore (built in createRuntime). Code that has the runtime reads
 * rt.subscribers; this stays for the callers that still ask for it by name.
 */
export function subscriberStore(rt: Pick<Runtime, "subscribers">): SubscriberStore {
  return rt.subscribers;
}

const DAY = 24 * HOUR;

const isOut = (s: Subscriber) => s.status === "unsubscribed" || isSuppressed(s);

const gone = () => notFound("this subscription no longer exists; subscribe again");

/** What a confirm click did: confirmed now, had been already, or nothing (unsubscribed, suppressed). */
export type ConfirmOutcome = "confirmed" | "already" | "unsubscribed" | "suppressed";

/** What a confirm link made at `issuedAt` would do to `s` now ("pending": confirm it). */
export function confirmState(s: Subscriber, issuedAt: number): Exclude<ConfirmOutcome, "confirmed"> | "pending" {
  if (s.status === "confirmed") return "already";
  if (s.status === "bounced" || s.status === "complained") return "suppressed";
  // Strictly after: a link made in the same millisecond as the unsubscribe came from a sign-up
  // made after it (only a fixed test clock can tell them apart at all).
  if (s.status === "unsubscribed" || (s.unsubscribedAt && Date.parse(s.unsubscribedAt) > issuedAt))
    return "unsubscribed";
  return "pending";
}

/** What the subscriber service uses of the runtime. */
export type SubscriberDeps = Pick<
  Runtime,
  "subscribers" | "redis" | "key" | "queues" | "taxonomy" | "config" | "clock"
>;

export class SubscriberService {
  readonly store: SubscriberStore;
  constructor(private readonly rt: SubscriberDeps) {
    this.store = rt.subscribers;
  }

  private nowIso(): string {
    return new Date(this.rt.clock.now()).toISOString();
  }

  /**
   * Public double opt-in. New, pending or unsubscribed addresses become pending with these
   * preferences and get a confirmation email; a confirmed address is not changed (anyone can type
   * it) but gets the same email, which leads to its preferences; suppressed ones get nothing.
   */
  async subscribe(raw: unknown): Promise<void> {
    const input = await this.parse(raw);
    const [id] = await this.idsOf([input.email]);
    const { current } = await this.store.apply(id!, (cur) => {
      if (cur && isSuppressed(cur)) return null;
      // A confirmed reader is not changed (anyone can type the address); they get the same email.
      if (cur?.status === "confirmed") return null;
      const now = this.nowIso();
      const next: Subscriber = {
        id: id!,
        // The spelling first stored stays: no sign-up, whoever types it, changes where mail goes.
        email: cur?.email ?? input.email,
        ...(input.name ? { name: input.name } : {}),
        language: input.language,
        topics: input.topics,
        regions: input.regions,
        frequency: input.frequency,
        timezone: input.timezone ?? cur?.timezone ?? this.rt.config.defaultTimezone,
        status: "pending",
        createdAt: cur?.createdAt ?? now,
        updatedAt: now,
        // Kept so that a confirm link sent before the unsubscribe stays void (see confirm()).
        ...(cur?.unsubscribedAt ? { unsubscribedAt: cur.unsubscribedAt } : {}),
      };
      return next;
    });
    if (!current || isSuppressed(current)) return;
    await this.sendConfirmation(current);
  }

  /**
   * At most one confirmation email per mailbox per hour. The key is the mailbox (mailboxKey:
   * case-folded, without a +tag), so no spelling of an address gets it a second email; it holds
   * the time of the last one by our clock (the Redis expiry only cleans up), checked and set in
   * one script, so concurrent subscribes cannot both pass.
   */
  async sendConfirmation(s: Subscriber): Promise<boolean> {
    const ok = await this.rt.redis.eval(
      THROTTLE,
      1,
      this.store.confirmSentKey(subscriberId(mailboxKey(s.email))),
      String(this.rt.clock.now()),
      String(HOUR),
    );
    if (ok !== 1) return false;
    const hour = Math.floor(this.rt.clock.now() / HOUR);
    const job: EmailBatchJob = {
      edition: `confirm-${s.id}-${hour}`,
      kind: "confirm",
      segment: `confirm-${s.language}`,
      subscriberIds: [s.id],
    };
    await this.rt.queues[QUEUE.emails].add("send", job, { jobId: jobId.emailBatch(job) });
    return true;
  }

  /**
   * The confirmation click (a POST: a GET of the link only shows the button): pending ->
   * confirmed. Confirmed stays confirmed ("already done"). A link made before the reader's last
   * unsubscribe (`issuedAt`, from the token) confirms nobody: an old email must not undo an
   * unsubscribe, even once someone has typed the address into the form again. Decided on the
   * current record inside the compare-and-set, so a racing unsubscribe is never undone.
   */
  async confirm(
    id: string,
    issuedAt = Number.POSITIVE_INFINITY,
  ): Promise<{ subscriber: Subscriber; outcome: ConfirmOutcome }> {
    let outcome: ConfirmOutcome = "confirmed";
    const { current } = await this.store.apply(id, (cur) => {
      if (!cur) throw gone();
      const state = confirmState(cur, issuedAt);
      outcome = state === "pending" ? "confirmed" : state;
      if (state !== "pending") return null;
      const now = this.nowIso();
      return { ...cur, status: "confirmed", confirmedAt: now, updatedAt: now };
    });
    return { subscriber: current!, outcome };
  }

  /**
   * The preferences form (or its JSON twin). Language, frequency, topics, regions and time zone
   * change when given and keep their value when not; the name follows the form's text box, so an
   * empty or missing name clears it. The status is never touched.
   */
  async updatePreferences(id: string, raw: unknown): Promise<Subscriber> {
    const s = await this.store.get(id);
    if (!s) throw gone();
    const patch = parseSubscriberPatch({ ...(raw as object), email: s.email });
    await this.checkVocabulary(patch, s);
    const { current } = await this.store.apply(id, (cur) => {
      if (!cur) throw gone();
      const next: Subscriber = { ...cur, updatedAt: this.nowIso() };
      if (patch.name) next.name = patch.name;
      else delete next.name;
      return this.withPreferences(next, { ...patch, name: undefined });
    });
    return current!;
  }

  /** One-click unsubscribe. Already unsubscribed or suppressed: nothing to do. */
  async unsubscribe(id: string): Promise<Subscriber> {
    const { current } = await this.store.apply(id, (cur) => {
      if (!cur) throw gone();
      if (isOut(cur)) return null;
      const now = this.nowIso();
      return { ...cur, status: "unsubscribed", unsubscribedAt: now, updatedAt: now };
    });
    return current!;
  }

  /** A permanent SMTP failure, a bounce report or a complaint: the address is never mailed again. */
  async suppress(id: string, status: "bounced" | "complained", reason: string): Promise<void> {
    await this.store.apply(id, (cur) => {
      if (!cur || cur.status === status) return null;
      return { ...cur, status, suppressedReason: reason.slice(0, 300), updatedAt: this.nowIso() };
    });
  }

  /**
   * Ops: adds or updates a subscriber (CLI, API, CSV import). Only the fields named change (a
   * missing or empty one is left as it is; `-` or null clears it back to its default); a new
   * address takes the defaults for the others. `confirmed` skips the opt-in (the operator vouches
   * for consent) and confirms a pending address; otherwise a pending address gets a confirmation
   * email. An unsubscribed or suppressed address keeps its status whatever is sent.
   */
  async upsert(
    raw: unknown,
    opts: { confirmed: boolean; notify?: boolean },
  ): Promise<{ subscriber: Subscriber; created: boolean }> {
    const patch = parseSubscriberPatch(raw);
    await this.checkVocabulary(patch, (await this.store.byEmail(patch.email)) ?? undefined);
    return this.upsertParsed(patch, opts);
  }

  async upsertParsed(
    patch: SubscriberPatch,
    opts: { confirmed: boolean; notify?: boolean },
  ): Promise<{ subscriber: Subscriber; created: boolean }> {
    const [id] = await this.idsOf([patch.email]);
    const r = await this.store.apply(id!, (cur) => this.patched(patch, cur, opts.confirmed));
    const s = r.current!;
    if (s.status === "pending" && opts.notify !== false) await this.sendConfirmation(s);
    return { subscriber: s, created: !r.previous };
  }

  /**
   * Many upserts in few round trips (CSV import): same rules as upsertParsed. `confirmed` false
   * sends each pending address a confirmation email.
   */
  async upsertMany(
    patches: SubscriberPatch[],
    opts: { confirmed: boolean },
  ): Promise<{ created: number; updated: number }> {
    const ids = await this.idsOf(patches.map((p) => p.email));
    const results: Applied[] = await this.store.applyMany(
      patches.map((p, i) => ({
        id: ids[i]!,
        change: (cur: Subscriber | null) => this.patched(p, cur, opts.confirmed),
      })),
    );
    for (const r of results) if (r.current?.status === "pending") await this.sendConfirmation(r.current);
    const created = results.filter((r) => !r.previous).length;
    return { created, updated: patches.length - created };
  }

  /** `patch` over the current record (or the defaults); null when it changes nothing. */
  private patched(patch: SubscriberPatch, cur: Subscriber | null, confirmed: boolean): Subscriber | null {
    const now = this.nowIso();
    // A record keeps its id and the spelling first stored (links already mailed name them).
    const next: Subscriber = cur
      ? { ...cur }
      : {
          id: subscriberId(patch.email),
          email: patch.email,
          language: "en",
          topics: [],
          regions: [],
          frequency: "daily",
          timezone: this.rt.config.defaultTimezone,
          status: confirmed ? "confirmed" : "pending",
          createdAt: now,
          updatedAt: now,
          ...(confirmed ? { confirmedAt: now } : {}),
        };
    this.withPreferences(next, patch);
    // Only pending moves (to confirmed); unsubscribed, bounced and complained stay as they are.
    if (cur?.status === "pending" && confirmed) {
      next.status = "confirmed";
      next.confirmedAt = now;
    }
    if (cur && sameRecord(cur, next)) return null;
    next.updatedAt = now;
    return next;
  }

  /** Applies the named fields of `patch` to `next` (in place): undefined keeps, null clears to the default. */
  private withPreferences(next: Subscriber, patch: SubscriberPatch): Subscriber {
    if (patch.name === null) delete next.name;
    else if (patch.name !== undefined) next.name = patch.name;
    if (patch.language !== undefined) next.language = patch.language ?? "en";
    if (patch.frequency !== undefined) next.frequency = patch.frequency ?? "daily";
    if (patch.topics !== undefined) next.topics = patch.topics ?? [];
    if (patch.regions !== undefined) next.regions = patch.regions ?? [];
    if (patch.timezone !== undefined) next.timezone = patch.timezone ?? this.rt.config.defaultTimezone;
    return next;
  }

  /**
   * Erases readers who stayed pending (never confirmed, no change) for PENDING_EXPIRY_DAYS: the
   * record, its keys and its index entries, each in one compare-and-set, so a confirm racing the
   * sweep either wins (the reader stays) or finds the reader gone. Run hourly by the scheduler.
   */
  async expirePending(batch = 500): Promise<number> {
    const cutoff = this.rt.clock.now() - this.rt.config.pendingExpiryDays * DAY;
    const stale = (s: Subscriber) => s.status === "pending" && Date.parse(s.updatedAt) <= cutoff;
    let erased = 0;
    // Each pass empties the batch it read (erased, or changed and so out of the range).
    for (let pass = 0; pass < 10_000; pass++) {
      const ids = await this.store.pendingSince(cutoff, batch);
      for (const id of ids) if (await this.store.erase(id, stale)) erased++;
      if (ids.length < batch) break;
    }
    return erased;
  }

  /** Validates a sign-up, its topics and regions included (see checkVocabulary). */
  private async parse(raw: unknown): Promise<ParsedSubscriberInput> {
    const input = parseSubscriberInput(raw);
    await this.checkVocabulary(input);
    return input;
  }

  /**
   * Topics and regions must be in the vocabulary (a typo would otherwise match nothing,
   * silently), except those the reader already had, which stay theirs to keep. A field a patch
   * leaves out or clears names nothing.
   */
  async checkVocabulary(
    values: { topics?: string[] | null; regions?: string[] | null },
    previous?: Subscriber,
  ): Promise<void> {
    const issues = (await this.rt.taxonomy.current()).unknownIssues(
      { topics: values.topics ?? [], regions: values.regions ?? [] },
      previous,
    );
    if (issues.length) throw invalid(`invalid subscriber: ${formatIssues(issues)}`, issues);
  }

  /**
   * The ids to write for these addresses: the id of the record already kept for the address
   * (a record made before addresses were case-folded keeps its legacy id), else the new one.
   */
  private async idsOf(emails: string[]): Promise<string[]> {
    const found = await this.store.byEmails(emails);
    return emails.map((e, i) => found[i]?.id ?? subscriberId(e));
  }

  async remove(email: string): Promise<Subscriber> {
    const [id] = await this.idsOf([parseSubscriberInput({ email }).email]);
    const s = await this.store.erase(id!);
    if (!s) throw notFound(`no subscriber with address ${email}`);
    return s;
  }
}

/** Equal apart from updatedAt and revision (a write that changes nothing is skipped). */
function sameRecord(a: Subscriber, b: Subscriber): boolean {
  const strip = ({ updatedAt: _u, revision: _r, ...rest }: Subscriber) =>
    JSON.stringify(Object.entries(rest).sort(([x], [y]) => x.localeCompare(y)));
  return strip(a) === strip(b);
}
