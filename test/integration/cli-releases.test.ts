import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

const SEED = path.join(ROOT, "test/fixtures/seeds/000_c917e069518bdab8.txt");
const dir = mkdtempSync(path.join(tmpdir(), "herald-cli-rel-"));
const file = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

let rt: TestRuntime;
let env: Record<string, string>;
beforeEach(async () => {
  rt = await testRuntime({ label: "clirel" });
  env = { REDIS_URL: redisUrl(), HERALD_PREFIX: rt.config.prefix };
});
afterEach(() => rt.destroy());

describe("herald import", { timeout: 90_000 }, () => {
  it("prints the seed page as release JSON", async () => {
    const r = await runCli(["import", SEED], env);
    expect(r.code).toBe(0);
    const release = JSON.parse(r.stdout);
    expect(release.title).toBe("Conference Focuses on Greater Protection of Trafficked Victims in Djibouti");
    expect(release.dateline).toBe("Djibouti");
    expect(release.contacts).toEqual([
      { name: "Alem Brook", office: "IOM Djibouti", phone: "+253 352 459", email: "balem@iom.int" },
    ]);
    expect(release.topics).toEqual([]);
    for (const chrome of [
      "Who we are",
      "Our Work",
      "Take Action",
      "Work with us",
      "Data and Research",
      "2030 Agenda",
      "mailto",
    ]) {
      expect(release.body).not.toContain(chrome);
    }
    expect(release.body.match(/<p>/g)).toHaveLength(6);
  });
});

describe("herald publish, update, withdraw", { timeout: 90_000 }, () => {
  it("publishes a scraped page with flags, then the same page again queues nothing", async () => {
    const args = [
      "publish",
      SEED,
      "--topics",
      "counter-trafficking",
      "--regions",
      "djibouti",
      "--published-at",
      "2026-02-07T09:00:00Z",
    ];
    const first = await runCli(args, env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /^published conference-focuses-on-greater-protection-of-trafficked-victims-in-djibouti revision 1 \(published\); queued job /,
    );
    const again = await runCli(args, env);
    expect(again.stdout).toMatch(/already stored with this content; nothing queued/);
    expect(await rt.queues[QUEUE.releaseEvents].count()).toBe(1);
    const stored = await rt.releases.get("conference-focuses-on-greater-protection-of-trafficked-victims-in-djibouti");
    expect(stored).toMatchObject({
      topics: ["counter-trafficking"],
      regions: ["djibouti"],
      publishedAt: "2026-02-07T09:00:00.000Z",
    });
  });

  it("updates with a note and withdraws", async () => {
    const json = file("r.json", JSON.stringify(sampleRelease({ id: "cli-rel" })));
    expect((await runCli(["publish", json], env)).code).toBe(0);
    const fixed = file("r2.json", JSON.stringify(sampleRelease({ id: "cli-rel", title: "Corrected title" })));
    const up = await runCli(["update", "cli-rel", fixed, "--note", "Fixed the title"], env);
    expect(up.stdout).toMatch(/updated cli-rel to revision 2/);
    expect(await rt.releases.get("cli-rel")).toMatchObject({ title: "Corrected title", correction: "Fixed the title" });
    const w = await runCli(["withdraw", "cli-rel"], env);
    expect(w.stdout).toMatch(/withdrew cli-rel \(revision 3\)/);
  });

  it.each([
    ["a file that does not exist", () => path.join(dir, "missing.json"), /cannot read .*missing\.json: no such file/],
    [
      "a binary file",
      () => file("bin.dat", Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2, 0, 0xff])),
      /looks like a binary file/,
    ],
    ["invalid JSON", () => file("bad.json", "{ nope"), /is not valid JSON/],
    ["a JSON array", () => file("arr.json", "[1]"), /one JSON object/],
    [
      "a release with CR/LF in the title",
      () => file("crlf.json", JSON.stringify(sampleRelease({ title: "A\r\nBcc: x@example.org" }))),
      /title: must be one line/,
    ],
    ["a directory", () => dir, /is not a file/],
  ])("refuses %s with one line and a non-zero exit, storing nothing", async (_what, make, reason) => {
    const r = await runCli(["publish", make()], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(reason);
    expect(await rt.releases.count()).toBe(0);
  });

  it("a page with no title is refused", async () => {
    const r = await runCli(["import", file("empty.txt", "\n\n   \n")], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^herald: .*empty/);
  });

  it("updating an unknown release fails with a reason", async () => {
    const r = await runCli(["update", "no-such-release", file("u.json", JSON.stringify(sampleRelease()))], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe("herald: no release with id no-such-release");
  });
});
