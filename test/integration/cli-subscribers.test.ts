import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QUEUE } from "../../src/jobs/queues.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { runCli } from "../helpers/cli.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

const dir = mkdtempSync(path.join(tmpdir(), "herald-cli-subs-"));
const SECRET = "k".repeat(40);
let rt: TestRuntime;
let env: Record<string, string>;
beforeEach(async () => {
  rt = await testRuntime({ label: "clisub", config: { secretKey: SECRET } });
  env = { REDIS_URL: redisUrl(), HERALD_PREFIX: rt.config.prefix, SECRET_KEY: SECRET, VAR_DIR: dir };
});
afterEach(() => rt.destroy());

const csv = (name: string, rows: string[]) => {
  const p = path.join(dir, name);
  writeFileSync(p, ["email,name,language,frequency,topics,regions,timezone", ...rows].join("\n"));
  return p;
};

describe("herald subscribers", { timeout: 90_000 }, () => {
  it("imports a CSV, reporting bad rows by line; a re-import updates and never duplicates", async () => {
    const file = csv("readers.csv", [
      "ana@example.org,Ana,es,daily,health;migration,peru,America/Lima",
      "not-an-email,X,en,daily,,,",
      "bo@example.org,Bo,de,weekly,,,",
      "cy@example.org,Cy,fr,weekly,,,Europe/Paris",
    ]);
    const first = await runCli(["subscribers", "import", file], env);
    expect(first.code).toBe(2); // some rows were bad
    expect(first.stdout).toMatch(/imported 2 row\(s\): 2 new, 0 updated; 2 bad row\(s\) skipped/);
    expect(first.stderr).toContain(`${file}:3: email:`);
    expect(first.stderr).toContain(`${file}:4: language: one of en, fr, es`);

    const again = await runCli(
      ["subscribers", "import", csv("again.csv", ["ana@example.org,Ana María,es,weekly,,,America/Lima"])],
      env,
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/1 row\(s\): 0 new, 1 updated/);

    const list = await runCli(["subscribers", "list", "--json"], env);
    const rows = list.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.email).sort()).toEqual(["ana@example.org", "cy@example.org"]);
    expect(rows.find((r) => r.email === "ana@example.org")).toMatchObject({
      name: "Ana María",
      frequency: "weekly",
      status: "confirmed",
      timezone: "America/Lima",
    });
  });

  it("adds (pending by default, with a confirmation email queued), lists and removes", async () => {
    const add = await runCli(
      ["subscribers", "add", "New@Example.ORG", "--language", "fr", "--frequency", "immediate"],
      env,
    );
    expect(add.stdout).toMatch(/^added New@example.org \(pending, immediate, fr, UTC\)/);
    expect(await rt.queues[QUEUE.emails].count()).toBe(1);
    const human = await runCli(["subscribers", "list"], env);
    expect(human.stdout).toMatch(/^1 subscriber\(s\)\nNew@example.org\tpending\timmediate\tfr/);
    expect((await runCli(["subscribers", "remove", "New@example.org"], env)).stdout).toBe("removed New@example.org\n");
    const gone = await runCli(["subscribers", "remove", "New@example.org"], env);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr.trim()).toBe("herald: no subscriber with address New@example.org");
  });

  it.each([
    [["subscribers", "add", "nope"], /invalid subscriber: email/],
    [["subscribers", "add", "a@example.org", "--timezone", "Mars/Base"], /timezone: an IANA time zone/],
    [["subscribers", "add", "a@example.org", "--frequency", "hourly"], /frequency: one of immediate, daily, weekly/],
    [["subscribers", "import", "/no/such.csv"], /cannot read \/no\/such\.csv: no such file/],
    [["subscribers", "import", "/bin/sh"], /looks like a binary file/],
    [["digest", "run", "hourly"], /unknown digest "hourly": use daily or weekly/],
  ])("refuses %j with one line and a non-zero exit", async (args, reason) => {
    const r = await runCli(args, env);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(reason);
  });
});

describe("herald digest", { timeout: 90_000 }, () => {
  it("dry-runs per segment, queues a run, and previews one reader's digest", async () => {
    await new ReleaseService(rt).publish(
      sampleRelease({
        id: "digest-me",
        title: "Digest Me",
        publishedAt: new Date(Date.now() - 3600_000).toISOString(),
      }),
    );
    await runCli(
      [
        "subscribers",
        "import",
        csv("d.csv", [
          "kenji@example.org,Kenji,en,daily,,,Asia/Tokyo",
          "lucia@example.org,Lucía,es,daily,,,America/Lima",
        ]),
      ],
      env,
    );

    const dry = await runCli(["digest", "run", "daily", "--dry-run"], env);
    expect(dry.stdout).toMatch(/daily digest at .*: 2 reader\(s\) in 2 segment\(s\)/);
    expect(await rt.queues[QUEUE.emails].count()).toBe(0);

    const run = await runCli(["digest", "run", "daily"], env);
    expect(run.stdout).toMatch(/^queued /);
    expect(await rt.queues[QUEUE.digests].count()).toBe(1);

    const out = path.join(dir, "preview.html");
    const preview = await runCli(["digest", "preview", "daily", "--email", "kenji@example.org", "--out", out], env);
    expect(preview.stdout).toMatch(/^wrote .*preview\.html/);
    expect(readFileSync(out, "utf8")).toContain("Digest Me");
  });
});
