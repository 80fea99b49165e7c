// Publishing, correcting and withdrawing releases: validate, sanitise, store a revision, then
// queue its event. Shared by the HTTP API, the CLI and the embargo job, so all three behave the
// same. Publishing identical content twice is "already done": no new revision, no second event.
import { createHash } from "node:crypto";
import { conflict, invalid, notFound, parseOrThrow } from "../errors.ts";
import type { ReleaseEvent } from "../vocabulary.ts";
import { jobId, QUEUE, type ReleaseEventJob } from "../jobs/queues.ts";
import type { Runtime } from "../runtime.ts";
import { formatIssues, type ParsedReleaseInput, type Release, releaseInputSchema, SLUG_RE } from "./model.ts";
import { oneLineText, type RenderedBody, renderBody, stripTags, titleText } from "./sanitize.ts";
import { renderBodyOffThread } from "./sanitize-pool.ts";
import { RevisionConflictError } from "./store.ts";
import { slugify } from "./slug.ts";

export interface PublishResult {
  id: string;
  revision: number;
  status: Release["status"];
  /** The event queued, or null when the content was already stored ("already done"). */
  event: ReleaseEvent | null;
  jobId: string | null;
}

/** Validates raw input, listing every problem; throws HeraldError 400 with `issues`. */
export function parseReleaseInput(raw: unknown): ParsedReleaseInput {
  return parseOrThrow(releaseInputSchema, raw, "release");
}

export { slugify };

function fingerprintOf(input: ParsedReleaseInput): string {
  // zod emits keys in schema order, so equal input gives equal JSON.
  return createHash("sha256").update(JSON.stringify(input)).digest("hex");
}

/**
 * Builds the stored form of one revision. `now` is the store time. `body` is the body already
 * rendered (renderBodyOffThread); without it the body is rendered here, on the calling thread.
 */
export function buildRelease(
  input: ParsedReleaseInput,
  id: string,
  revision: number,
  now: number,
  previous: Release | null,
  correction?: string,
  body: RenderedBody = renderBody(input.body),
): Release {
  const nowIso = new Date(now).toISOString();
  const publishedAt = input.publishedAt ? new Date(input.publishedAt).toISOString() : (previous?.publishedAt ?? nowIso);
  // A future publishedAt is a scheduled publication: the same as an embargo until then.
  const embargoMs = Math.max(
    input.embargoUntil ? Date.parse(input.embargoUntil) : 0,
    Date.parse(publishedAt) > now ? Date.parse(publishedAt) : 0,
  );
  const embargoed = embargoMs > now;
  const bodyHtml = body.html;
  if (!body.text && !/<img\b/.test(bodyHtml)) {
    throw invalid("invalid release: body: has no text once scripts and markup are removed", [
      { path: "body", message: "has no text once scripts and markup are removed" },
    ]);
  }
  const summary = input.summary ? stripTags(input.summary) : undefined;
  // Text fields keep no markup (stripped, the release still stored); one that was nothing but
  // markup is refused like an empty one.
  const text = (path: string, s: string, read = oneLineText) => {
    const t = read(s);
    if (!t)
      throw invalid(`invalid release: ${path}: has no text once markup is removed`, [
        { path, message: "has no text once markup is removed" },
      ]);
    return t;
  };
  const dateline = input.dateline ? oneLineText(input.dateline) : undefined;
  return {
    id,
    revision,
    status: embargoed ? "embargoed" : "published",
    title: text("title", input.title, titleText),
    ...(summary ? { summary } : {}),
    bodyHtml,
    bodyText: body.text,
    ...(dateline ? { dateline } : {}),
    publishedAt: embargoed ? new Date(Math.max(embargoMs, Date.parse(publishedAt))).toISOString() : publishedAt,
    ...(embargoMs ? { embargoUntil: new Date(embargoMs).toISOString() } : {}),
    language: input.language,
    ...(input.translationOf ? { translationOf: input.translationOf } : {}),
    topics: [...new Set(input.topics)],
    regions: [...new Set(input.regions)],
    urgent: input.urgent,
    ...(input.url ? { url: input.url } : {}),
    contacts: input.contacts.map((c, i) => ({
      ...c,
      name: text(`contacts.${i}.name`, c.name),
      ...(c.office !== undefined ? { office: oneLineText(c.office) } : {}),
      ...(c.phone !== undefined ? { phone: oneLineText(c.phone) } : {}),
    })),
    ...(input.image ? { image: { url: input.image.url, alt: oneLineText(input.image.alt) } } : {}),
    createdAt: previous?.createdAt ?? nowIso,
    updatedAt: nowIso,
    ...(correction ? { correction } : {}),
  };
}

/**
 * A release id from a URL or the CLI, or a 400 with the reason: ids are slugs (the store's keys
 * and job ids are built from them), so anything else cannot name a release.
 */
export function checkReleaseId(id: string): string {
  if (SLUG_RE.test(id) && id.length <= 120) return id;
  const rule = "lower-case letters, digits and single hyphens, at most 120 characters";
  throw invalid(`invalid release id ${JSON.stringify(id.slice(0, 80))}: ${rule}`, [{ path: "id", message: rule }]);
}

/** What publishing, correcting and withdrawing use of the runtime. */
export type ReleaseDeps = Pick<Runtime, "releases" | "taxonomy" | "queues" | "clock">;

export class ReleaseService {
  constructor(private readonly rt: ReleaseDeps) {}

  /** Publishes a new release (or confirms an identical one). 409 if the id holds other content. */
  async publish(raw: unknown): Promise<PublishResult> {
    const input = await this.parse(raw);
    const id = input.id ?? slugify(input.title);
    if (input.translationOf === id) throw invalid("invalid release: translationOf: a release cannot translate itself");
    const fp = fingerprintOf(input);
    const current = await this.rt.releases.get(id);
    if (current) {
      if ((await this.rt.releases.fingerprint(id)) === fp) return this.alreadyDone(current);
      throw conflict(
        `release ${id} already exists with other content (revision ${current.revision}); update it with PUT /api/releases/${id} or \`herald update ${id} FILE\``,
      );
    }
    const next = buildRelease(
      input,
      id,
      1,
      this.rt.clock.now(),
      null,
      undefined,
      await renderBodyOffThread(input.body),
    );
    return this.commit(next, null, fp, next.status === "embargoed" ? "embargoed" : "published");
  }

  /** Stores a corrected revision. The note is shown to readers as the correction. */
  async update(id: string, raw: unknown, note?: string): Promise<PublishResult> {
    const current = await this.require(id);
    if (current.status === "withdrawn") throw conflict(`release ${id} was withdrawn; publish a new release instead`);
    const input = await this.parse({ ...(raw as object), id });
    const cleanNote = note === undefined ? undefined : stripTags(note).replace(/\s+/g, " ").slice(0, 500);
    const fp = fingerprintOf(input);
    if ((await this.rt.releases.fingerprint(id)) === fp) return this.alreadyDone(current);
    const next = buildRelease(
      input,
      id,
      current.revision + 1,
      this.rt.clock.now(),
      current,
      cleanNote,
      await renderBodyOffThread(input.body),
    );
    const event: ReleaseEvent =
      next.status === "embargoed" ? "embargoed" : current.status === "embargoed" ? "published" : "updated";
    return this.commit(next, current, fp, event);
  }

  async withdraw(id: string, note?: string): Promise<PublishResult> {
    const current = await this.require(id);
    if (current.status === "withdrawn") return this.alreadyDone(current);
    const now = new Date(this.rt.clock.now()).toISOString();
    const next: Release = {
      ...current,
      revision: current.revision + 1,
      status: "withdrawn",
      updatedAt: now,
      withdrawnAt: now,
      ...(note ? { correction: stripTags(note).slice(0, 500) } : {}),
    };
    const fp = (await this.rt.releases.fingerprint(id)) ?? "";
    return this.commit(next, current, `${fp}-withdrawn`, "withdrawn");
  }

  /** The delayed job's work: an embargoed revision whose time has come becomes public. */
  async liftEmbargo(id: string, revision: number): Promise<PublishResult | null> {
    const current = await this.rt.releases.get(id);
    // A newer revision, a withdrawal or a moved embargo has its own job: this one is done.
    if (!current || current.revision !== revision || current.status !== "embargoed") return null;
    if (current.embargoUntil && Date.parse(current.embargoUntil) > this.rt.clock.now()) return null;
    const next: Release = { ...current, status: "published" };
    const fp = (await this.rt.releases.fingerprint(id)) ?? "";
    return this.commit(next, current, fp, "published");
  }

  /** Validates the input, then its topics and regions against the vocabulary (unknown slugs: 400). */
  private async parse(raw: unknown): Promise<ParsedReleaseInput> {
    const input = parseReleaseInput(raw);
    const issues = (await this.rt.taxonomy.current()).unknownIssues(input);
    if (issues.length) throw invalid(`invalid release: ${formatIssues(issues)}`, issues);
    return input;
  }

  private async require(id: string): Promise<Release> {
    checkReleaseId(id);
    const r = await this.rt.releases.get(id);
    if (!r) throw notFound(`no release with id ${id}`);
    return r;
  }

  private async alreadyDone(current: Release): Promise<PublishResult> {
    await dispatchPending(this.rt); // an earlier attempt may have stored but not queued
    return { id: current.id, revision: current.revision, status: current.status, event: null, jobId: null };
  }

  private async commit(
    next: Release,
    previous: Release | null,
    fp: string,
    event: ReleaseEvent,
  ): Promise<PublishResult> {
    try {
      await this.rt.releases.commit(next, previous, fp, event);
    } catch (err) {
      if (err instanceof RevisionConflictError) throw conflict(err.message);
      throw err;
    }
    const job = { releaseId: next.id, revision: next.revision, event };
    await enqueueEvent(this.rt, job, next);
    return { id: next.id, revision: next.revision, status: next.status, event, jobId: jobId.releaseEvent(job) };
  }
}

/** Queues one stored event (and its embargo lift), then clears it from the outbox. */
async function enqueueEvent(
  rt: Pick<Runtime, "releases" | "queues" | "clock">,
  job: ReleaseEventJob,
  release: Release | null,
): Promise<void> {
  const q = rt.queues[QUEUE.releaseEvents];
  await q.add(job.event, job, { jobId: jobId.releaseEvent(job) });
  if (job.event === "embargoed" && release?.embargoUntil) {
    const lift = { releaseId: job.releaseId, revision: job.revision };
    const delay = Math.max(0, Date.parse(release.embargoUntil) - rt.clock.now());
    await q.add("lift-embargo", lift, { jobId: jobId.liftEmbargo(lift), delay });
  }
  await rt.releases.ackEvent(job);
}

/** Queues every event the store holds but the queue may not (crash between store and queue). */
export async function dispatchPending(rt: Pick<Runtime, "releases" | "queues" | "clock">): Promise<number> {
  const pending = await rt.releases.pendingEvents();
  for (const e of pending) {
    await enqueueEvent(rt, e, await rt.releases.getRevision(e.releaseId, e.revision));
  }
  return pending.length;
}
