// A digest edition of a given size for crash and outage runs: releases of the last hours in
// six topics, readers in three languages and six topics (18 segments, each rendered once),
// all daily and confirmed, saved in bulk.
import { QUEUE, type DigestJob, jobId } from "../../src/jobs/queues.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import type { Runtime } from "../../src/runtime.ts";
import { SubscriberStore, subscriberId } from "../../src/subscribers/store.ts";
import { seedDailyReaders } from "../helpers/readers.ts";

const TOPICS = 6;

export const readerEmail = (i: number) => `reader${i}@crash.example`;

export async function seedDigest(
  rt: Runtime,
  readers: number,
): Promise<{ emails: string[]; idOf: Map<string, string> }> {
  const now = rt.clock.now();
  const svc = new ReleaseService(rt);
  // Synthetic topics are not in the built-in vocabulary: added like ops would (herald taxonomy add).
  for (let i = 0; i < TOPICS; i++) {
    await rt.taxonomy.add("topics", {
      slug: `topic-${i}`,
      labels: { en: `Topic ${i}`, fr: `Thème ${i}`, es: `Tema ${i}` },
    });
  }
  for (let i = 0; i < TOPICS * 2; i++) {
    await svc.publish({
      id: `digest-release-${i}`,
      title: `Release ${i}: Border Officials Trained in Victim Identification`,
      summary: "A three-day course for border officials on identifying and referring victims of trafficking.",
      body: "<p>IOM this week trained forty border officials.</p>",
      dateline: "Djibouti",
      publishedAt: new Date(now - 2 * 3600_000 + i * 60_000).toISOString(),
      topics: [`topic-${i % TOPICS}`],
      regions: ["djibouti"],
    });
  }
  const store = new SubscriberStore(rt.redis, rt.config.prefix);
  const iso = new Date(now - 30 * 86_400_000).toISOString();
  await seedDailyReaders(store, readers, { topics: TOPICS, since: iso, emailOf: readerEmail, chunk: 500 });
  const emails = Array.from({ length: readers }, (_, j) => readerEmail(j));
  const idOf = new Map(emails.map((e) => [e, subscriberId(e)]));
  return { emails, idOf };
}

/** Queues `digest run daily` as the CLI does; returns the edition it will send. */
export async function queueDigestRun(rt: Runtime): Promise<string> {
  const at = rt.clock.now();
  const data: DigestJob = { frequency: "daily", at: new Date(at).toISOString() };
  await rt.queues[QUEUE.digests].add("run", data, { jobId: jobId.digestRun("daily", at) });
  return `daily-run-${at}`;
}
