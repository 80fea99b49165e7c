// "Add a channel" (docs/architecture.md), proven: a fourth channel defined here, in one place,
// without touching mail/, feeds/ or partners/: it writes each release event to a file. Real
// workers, real Redis; the release goes in through the service like any other.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Channel } from "../../src/channel.ts";
import { CHANNELS } from "../../src/jobs/channels.ts";
import { processorsOf } from "../../src/jobs/processors.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { dispatchReleaseEvent } from "../../src/jobs/release-events.ts";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

/** The example channel: one JSON file per release event, named by the event (so writing twice is one file). */
function fileChannel(dir: string): Channel<{ file: string }> {
  return {
    name: "file",
    idle: { file: "" },
    async onReleaseEvent(_rt, { event, release }) {
      const file = path.join(dir, `${event.releaseId}-r${event.revision}-${event.event}.json`);
      writeFileSync(
        file,
        JSON.stringify({ event: event.event, id: release.id, revision: release.revision, title: release.title }),
      );
      return { file };
    },
    processors: {},
  };
}

let rt: TestRuntime;
let dir: string;
let workers: Workers | undefined;

beforeEach(async () => {
  rt = await testRuntime({ label: "chan" });
  dir = mkdtempSync(path.join(tmpdir(), "herald-channel-"));
});
afterEach(async () => {
  await workers?.close();
  workers = undefined;
  await rt.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const files = () => readdirSync(dir).sort();

describe("a fourth channel is one definition plus one entry in the channel list", () => {
  it("hears every release event through the real release-events worker", async () => {
    workers = startWorkers(rt, [QUEUE.releaseEvents], [...CHANNELS, fileChannel(dir)]);
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "chan-story" }));
    await eventually(() => files().length === 1, 10_000, "the published event's file");
    await svc.update("chan-story", sampleRelease({ title: "Corrected title" }), "typo");
    await svc.withdraw("chan-story", "sent in error");
    await eventually(() => files().length === 3, 10_000, "three event files");
    expect(files()).toEqual([
      "chan-story-r1-published.json",
      "chan-story-r2-updated.json",
      "chan-story-r3-withdrawn.json",
    ]);
    expect(JSON.parse(readFileSync(path.join(dir, "chan-story-r2-updated.json"), "utf8"))).toEqual({
      event: "updated",
      id: "chan-story",
      revision: 2,
      title: "Corrected title",
    });
    // The other channels were told as before: their jobs are queued under the same ids.
    const ids = async (q: string) =>
      (await rt.queues[q as keyof typeof rt.queues].getJobs(["waiting", "delayed", "active", "completed"]))
        .map((j) => j.id)
        .sort();
    expect(await ids(QUEUE.alerts)).toEqual([
      "chan-story-r1-published",
      "chan-story-r2-updated",
      "chan-story-r3-withdrawn",
    ]);
    expect(await ids(QUEUE.partners)).toEqual([
      "fanout-chan-story-r1-published",
      "fanout-chan-story-r2-updated",
      "fanout-chan-story-r3-withdrawn",
    ]);
  });

  it("adds its summary to the fan-out's, and running the fan-out twice writes one file per event", async () => {
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "twice", topics: ["health"], regions: [] }));
    const channels = [...CHANNELS, fileChannel(dir)] as const;
    const first = await dispatchReleaseEvent(rt, { releaseId: "twice", revision: 1, event: "published" }, channels);
    await dispatchReleaseEvent(rt, { releaseId: "twice", revision: 1, event: "published" }, channels);
    expect(first.file).toBe(path.join(dir, "twice-r1-published.json"));
    expect(first.feeds.sort()).toEqual(["all", "languages/en", "topics/health"]);
    expect(first.alerts).toBe(true);
    expect(first.partners).toBe(true);
    expect(files()).toEqual(["twice-r1-published.json"]);
    // An unknown release: every channel reports its idle summary and nothing is written.
    expect(await dispatchReleaseEvent(rt, { releaseId: "nope", revision: 1, event: "published" }, channels)).toEqual({
      feeds: [],
      alerts: false,
      partners: false,
      file: "",
    });
    expect(files()).toEqual(["twice-r1-published.json"]);
  });

  it("a channel cannot take over a queue another channel owns", () => {
    const thief: Channel = {
      ...fileChannel(dir),
      name: "thief",
      processors: { [QUEUE.emails]: { process: async () => "stolen" } },
    };
    expect(() => processorsOf([...CHANNELS, thief])).toThrow(/queue emails has two processors \(channel thief\)/);
  });
});
