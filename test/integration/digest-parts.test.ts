// Digest planning in parts: an edition cut into DIGEST_PART_SIZE slices that several workers
// plan at once sends exactly the emails one planner sends (same readers, same stories each),
// and a second run sends nothing. Two Herald set-ups on their own prefixes and SMTP servers,
// the same data set; one plans inline in one part, the other splits into part jobs served by
// two sets of workers.
import { afterEach, describe, expect, it } from "vitest";
import type { Queue } from "bullmq";
import { runDigest } from "../../src/mail/digests.ts";
import { type DigestJob, jobId, QUEUE } from "../../src/jobs/queues.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { Ledger } from "../../src/mail/ledger.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { upsertSchedules } from "../../src/jobs/schedules.ts";
import { runCli } from "../helpers/cli.ts";
import { addReader, type MailEnv, mailEnv, TEST_SECRET } from "../helpers/mail.ts";
import { redisUrl } from "../helpers/runtime.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually } from "../helpers/runtime.ts";

const NOW = "2026-11-28T10:00:00Z";
const AT = Date.parse("2026-11-28T09:00:00Z");
const TOPICS = ["migration", "health", "shelter", "emergencies"];
const REGIONS = ["djibouti", "somalia", "kenya"];
const LANGS = ["en", "fr", "es"] as const;
const READERS = 47;

const TITLES = Array.from({ length: 9 }, (_, i) => `Parts Story ${i}`);

/** The fixed data set: readers with spread preferences, languages, zones and cursors; stories and a translation. */
async function seed(env: MailEnv): Promise<void> {
  const { rt } = env;
  const svc = new ReleaseService(rt);
  for (let i = 0; i < TITLES.length; i++) {
    await svc.publish(
      sampleRelease({
        id: `ps${i}`,
        title: TITLES[i],
        publishedAt: new Date(AT - (i + 1) * 5 * 3600_000).toISOString(),
        topics: [TOPICS[i % TOPICS.length]!],
        regions: [REGIONS[i % REGIONS.length]!],
      }),
    );
  }
  await svc.publish(
    sampleRelease({
      id: "ps0-fr",
      title: "Histoire 0",
      language: "fr",
      translationOf: "ps0",
      publishedAt: new Date(AT - 3600_000).toISOString(),
      topics: [TOPICS[0]!],
      regions: [REGIONS[0]!],
    }),
  );
  for (let i = 0; i < READERS; i++) {
    const s = await addReader(rt, {
      email: `reader${i}@example.org`,
      name: `Reader ${i}`,
      frequency: "daily",
      timezone: i % 3 === 0 ? "Asia/Tokyo" : "UTC",
      language: LANGS[i % 3]!,
      topics: i % 4 === 0 ? [] : TOPICS.filter((_, k) => (i >> k) & 1),
      regions: i % 5 === 0 ? [REGIONS[i % 3]!] : [],
    });
    // Cursors from "never" to two days back.
    if (i % 4 !== 1) await rt.redis.hset(rt.key("digest-cursor"), s.id, String(AT - ((i % 7) + 1) * 8 * 3600_000));
  }
}

/** Who got what: reader -> subject and the stories in it, sorted. */
function received(env: MailEnv): string[] {
  return env.smtp.messages
    .map((m) => {
      const text = m.parsed.text ?? "";
      const stories = [...TITLES, "Histoire 0"].filter((t) => text.includes(t));
      return `${m.to.join(",")} | ${m.parsed.subject} | ${stories.join("; ")}`;
    })
    .sort();
}

const envs: MailEnv[] = [];
const extra: Workers[] = [];
afterEach(async () => {
  for (const w of extra.splice(0)) await w.close();
  for (const e of envs.splice(0)) await e.stop();
});

describe("digest planning in parts", () => {
  it("parts planned by several workers send the same emails as one planner; a second run sends nothing", async () => {
    const one = await mailEnv({ label: "parts-one", now: NOW });
    envs.push(one);
    const split = await mailEnv({ label: "parts-split", now: NOW, config: { digestPartSize: 10 } });
    envs.push(split);
    await seed(one);
    await seed(split);

    // One planner, inline, one part.
    one.start([QUEUE.emails]);
    const inline = await runDigest(one.rt, "daily", AT, { dryRun: false });
    expect(inline.parts).toBeUndefined();
    await one.drained();
    const expected = received(one);
    expect(expected.length).toBeGreaterThan(20);
    expect(expected.length).toBe(inline.readers);

    // Through the queue: the run job hands out parts; two worker sets plan and send them. (The
    // parts as queued, seen here: done, they are removed.)
    const handed: Parameters<Queue["addBulk"]>[0] = [];
    const digests = split.rt.queues[QUEUE.digests];
    const addBulk = digests.addBulk.bind(digests);
    digests.addBulk = (jobs) => {
      handed.push(...jobs);
      return addBulk(jobs);
    };
    split.start([QUEUE.digests, QUEUE.emails]);
    extra.push(startWorkers(split.rt, [QUEUE.digests, QUEUE.emails]));
    const data: DigestJob = { frequency: "daily", at: new Date(AT).toISOString() };
    const job = await split.rt.queues[QUEUE.digests].add("run", data, { jobId: jobId.digestRun("daily", AT) });
    await eventually(async () => (await job.isCompleted()) === true, 20_000, "the run job");
    const summary = (await split.rt.queues[QUEUE.digests].getJob(job.id!))!.returnvalue[0];
    expect(summary).toMatchObject({ parts: Math.ceil(READERS / 10), readers: READERS, segments: [] });
    await split.drained();
    expect(received(split)).toEqual(expected);
    // Each reader once, and the edition's progress adds the parts up.
    expect(new Set(split.smtp.messages.map((m) => m.to.join())).size).toBe(expected.length);
    expect(await new Ledger(split.rt.redis, split.rt.config.prefix).progress(summary.edition)).toMatchObject({
      total: expected.length,
      sent: expected.length,
    });
    // Parts were named by their readers, without ':' (BullMQ job ids), and removed once done; the
    // run job is still there to look at.
    const partJobs = handed.filter((p) => p.name === "part");
    expect(partJobs.length).toBe(summary.parts);
    for (const p of partJobs) {
      expect(p.opts!.jobId).not.toContain(":");
      expect((p.data as DigestJob).subscriberIds!.length).toBeLessThanOrEqual(10);
    }
    const completed = await digests.getJobs(["completed"]);
    expect(completed.map((j) => j.name)).toEqual(["run"]);

    // A second run an hour later: the cursors moved, nothing new, nothing sent.
    const again = await split.rt.queues[QUEUE.digests].add(
      "run",
      { frequency: "daily", at: new Date(AT + 3600_000).toISOString() },
      { jobId: jobId.digestRun("daily", AT + 3600_000) },
    );
    await eventually(async () => (await again.isCompleted()) === true, 20_000, "the second run job");
    await split.drained();
    expect(received(split)).toEqual(expected);
    // The same parts run again (a crashed run retried): the ledger sends nothing twice.
    await addBulk(partJobs);
    await split.drained();
    expect(split.smtp.messages).toHaveLength(expected.length);
  }, 90_000);

  it("a dry run counts the same segments whatever the part size, and queues nothing", async () => {
    const a = await mailEnv({ label: "parts-dry-a", now: NOW });
    envs.push(a);
    const b = await mailEnv({ label: "parts-dry-b", now: NOW, config: { digestPartSize: 10 } });
    envs.push(b);
    await seed(a);
    await seed(b);
    const norm = (s: Awaited<ReturnType<typeof runDigest>>) =>
      s.segments.map((c) => `${c.segment} ${c.readers}`).sort();
    const da = await runDigest(a.rt, "daily", AT, { dryRun: true, split: true });
    const db = await runDigest(b.rt, "daily", AT, { dryRun: true, split: true });
    expect(db.parts).toBeUndefined();
    expect(norm(db)).toEqual(norm(da));
    expect(db.readers).toBe(da.readers);
    expect(await b.rt.queues[QUEUE.emails].count()).toBe(0);
    expect(await b.rt.queues[QUEUE.digests].count()).toBe(0);
  }, 60_000);

  it("`digest run --wait` hands a large edition to planning jobs and waits for them and their emails", async () => {
    const env = await mailEnv({ label: "parts-cli", now: NOW, config: { digestPartSize: 10 } });
    envs.push(env);
    await seed(env);
    // The hourly scheduler keeps a delayed tick in the digests queue: the wait must not count it.
    await upsertSchedules(env.rt);
    env.start([QUEUE.digests, QUEUE.emails]);
    const cli = await runCli(
      ["digest", "run", "daily", "--wait", "--timeout", "30"],
      {
        REDIS_URL: redisUrl(),
        HERALD_PREFIX: env.rt.config.prefix,
        DIGEST_PART_SIZE: "10",
        SECRET_KEY: TEST_SECRET,
        SMTP_URL: env.smtp.url,
      },
      { timeoutMs: 60_000 },
    );
    expect(cli.stderr, cli.stdout).toBe("");
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(
      new RegExp(`: ${READERS} reader\\(s\\) handed to ${Math.ceil(READERS / 10)} planning job\\(s\\)`),
    );
    const sent = Number(/sent (\d+), skipped 0, failed 0/.exec(cli.stdout)?.[1]);
    expect(sent).toBeGreaterThan(0);
    await env.drained();
    // When it said so, every email had gone out, each reader once.
    expect(env.smtp.messages).toHaveLength(sent);
    expect(new Set(env.smtp.messages.map((m) => m.to.join())).size).toBe(sent);
  }, 90_000);
});
