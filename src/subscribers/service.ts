// Subscribing, confirming, changing preferences, unsubscribing, importing and suppressing.
// Shared by the pages, the API and the CLI so all behave the same.
// No enumeration: subscribe() gives the caller the same answer whatever state the address is in;
// only the email it may trigger differs, and at most one per address per hour.
import { jobId, QUEUE, type EmailBatchJob } from "../jobs/queues.ts";
import { invalid, notFound } from "../errors.ts";
import { formatIssues } from "../releases/model.ts";
import type { Runtime } from "../runtime.ts";
import { type ParsedSubscriberInput, parseSubscriberInput, type Subscriber } from "./model.ts";
import { SubscriberStore, subscriberId } from "./store.ts";

const HOUR = 3600_000;

const THROTTLE = `
local last = redis.call('GET', KEYS[1])
if last and tonumber(ARGV[1]) - tonumber(last) < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

export type Preferences = Pick<Subscriber, "name" | "language" | "topics" | "regions" | "frequency" | "timezone">;

export function subscriberStore(rt: Runtime): SubscriberStore {
  return new SubscriberStore(rt.redis, rt.config.prefix);
}

export class SubscriberService {
  readonly store: SubscriberStore;
  constructor(private readonly rt: Runtime) {
    this.store = subscriberStore(rt);
  }

  private nowIso(): string {
    return new Date(this.rt.clock.now()).toISOString();
  }

  private build(input: ParsedSubscriberInput, previous: Subscriber | null, status: Subscriber["status"]): Subscriber {
    const now = this.nowIso();
    return {
      id: subscriberId(input.email),
      email: input.email,
      ...(input.name ? { name: input.name } : {}),
      language: input.language,
      topics: input.topics,
      regions: input.regions,
      frequency: input.frequency,
      timezone: input.timezone ?? previous?.timezone ?? this.rt.config.defaultTimezone,
      status,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      ...(status === "confirmed" ? { confirmedAt: previous?.confirmedAt ?? now } : {}),
    };
  }

  /**
   * Public double opt-in. New, pending or unsubscribed addresses become pending with these
   * preferences and get a confirmation email; a confirmed address is not changed (anyone can type
   * it) but gets the same email, which leads to its preferences; suppressed ones get nothing.
   */
  async subscribe(raw: unknown): Promise<void> {
    const input = await this.parse(raw);
    const previous = await this.store.byEmail(input.email);
    if (previous && (previous.status === "bounced" || previous.status === "complained")) return;
    if (previous?.status === "confirmed") {
      await this.sendConfirmation(previous);
      return;
    }
    const s = this.build(input, previous, "pending");
    await this.store.save(s, previous);
    await this.sendConfirmation(s);
  }

  /**
   * At most one confirmation email per address per hour. The key holds the time of the last one
   * by our clock (the Redis expiry only cleans up), checked and set in one script.
   */
  async sendConfirmation(s: Subscriber): Promise<boolean> {
    const ok = await this.rt.redis.eval(THROTTLE, 1, this.rt.key("confirm-sent", s.id), String(this.rt.clock.now()), String(HOUR));
    if (ok !== 1) return false;
    const hour = Math.floor(this.rt.clock.now() / HOUR);
    const job: EmailBatchJob = { edition: `confirm-${s.id}-${hour}`, kind: "confirm", segment: `confirm-${s.language}`, subscriberIds: [s.id] };
    await this.rt.queues[QUEUE.emails].add("send", job, { jobId: jobId.emailBatch(job) });
    return true;
  }

  /** The confirmation click: pending -> confirmed. Confirmed stays confirmed ("already done"). */
  async confirm(id: string): Promise<Subscriber> {
    const s = await this.require(id);
    if (s.status !== "pending") return s;
    const next: Subscriber = { ...s, status: "confirmed", confirmedAt: this.nowIso(), updatedAt: this.nowIso() };
    await this.store.save(next, s);
    return next;
  }

  async updatePreferences(id: string, raw: unknown): Promise<Subscriber> {
    const s = await this.require(id);
    const input = await this.parse({ ...(raw as object), email: s.email }, s);
    const next: Subscriber = { ...this.build(input, s, s.status), confirmedAt: s.confirmedAt, createdAt: s.createdAt };
    if (!input.name) delete next.name;
    await this.store.save(next, s);
    return next;
  }

  /** One-click unsubscribe. Already unsubscribed or suppressed: nothing to do. */
  async unsubscribe(id: string): Promise<Subscriber> {
    const s = await this.require(id);
    if (s.status === "unsubscribed" || s.status === "bounced" || s.status === "complained") return s;
    const next: Subscriber = { ...s, status: "unsubscribed", unsubscribedAt: this.nowIso(), updatedAt: this.nowIso() };
    await this.store.save(next, s);
    return next;
  }

  /** A permanent SMTP failure, a bounce report or a complaint: the address is never mailed again. */
  async suppress(id: string, status: "bounced" | "complained", reason: string): Promise<void> {
    const s = await this.store.get(id);
    if (!s || s.status === status) return;
    const next: Subscriber = { ...s, status, suppressedReason: reason.slice(0, 300), updatedAt: this.nowIso() };
    await this.store.save(next, s);
  }

  /**
   * Ops: adds or updates a subscriber (CLI, API, CSV import). `confirmed` skips the opt-in (the
   * operator vouches for consent); otherwise a new address gets a confirmation email. Re-adding
   * updates preferences and never revives an unsubscribed or suppressed address.
   */
  async upsert(raw: unknown, opts: { confirmed: boolean; notify?: boolean }): Promise<{ subscriber: Subscriber; created: boolean }> {
    const input = await this.parse(raw);
    return this.upsertParsed(input, opts);
  }

  async upsertParsed(input: ParsedSubscriberInput, opts: { confirmed: boolean; notify?: boolean }): Promise<{ subscriber: Subscriber; created: boolean }> {
    const previous = await this.store.byEmail(input.email);
    const next = this.merge(input, previous, opts.confirmed);
    await this.store.save(next, previous);
    if (next.status === "pending" && opts.notify !== false) await this.sendConfirmation(next);
    return { subscriber: next, created: !previous };
  }

  /**
   * Many upserts in few round trips (CSV import): same rules as upsertParsed. `confirmed` false
   * sends each new address a confirmation email.
   */
  async upsertMany(inputs: ParsedSubscriberInput[], opts: { confirmed: boolean }): Promise<{ created: number; updated: number }> {
    const previous = await this.store.getMany(inputs.map((i) => subscriberId(i.email)));
    const items = inputs.map((input, i) => {
      const prev = previous[i] ?? null;
      return { next: this.merge(input, prev, opts.confirmed), previous: prev };
    });
    await this.store.saveMany(items);
    for (const { next } of items) if (next.status === "pending") await this.sendConfirmation(next);
    const created = previous.filter((p) => !p).length;
    return { created, updated: inputs.length - created };
  }

  /** New preferences over an existing record: an unsubscribed or suppressed status is kept. */
  private merge(input: ParsedSubscriberInput, previous: Subscriber | null, confirmed: boolean): Subscriber {
    const status = previous && previous.status !== "pending" ? previous.status : confirmed ? "confirmed" : "pending";
    const next = this.build(input, previous, status);
    if (previous?.unsubscribedAt) next.unsubscribedAt = previous.unsubscribedAt;
    if (previous?.suppressedReason) next.suppressedReason = previous.suppressedReason;
    return next;
  }

  async remove(email: string): Promise<Subscriber> {
    const s = await this.store.byEmail(parseSubscriberInput({ email }).email);
    if (!s) throw notFound(`no subscriber with address ${email}`);
    await this.store.remove(s);
    return s;
  }

  /**
   * Validates preferences; topics and regions must be in the vocabulary (a typo would otherwise
   * match nothing, silently), except those the reader already had, which stay theirs to keep.
   */
  private async parse(raw: unknown, previous?: Subscriber): Promise<ParsedSubscriberInput> {
    const input = parseSubscriberInput(raw);
    const issues = (await this.rt.taxonomy.current()).unknownIssues(input, previous);
    if (issues.length) throw invalid(`invalid subscriber: ${formatIssues(issues)}`, issues);
    return input;
  }

  private async require(id: string): Promise<Subscriber> {
    const s = await this.store.get(id);
    if (!s) throw notFound("this subscription no longer exists; subscribe again");
    return s;
  }
}
