// The layering check (scripts/layers.mjs, `npm run layers`) against trees made to break it: a
// check that passes on src/ proves nothing unless it fails on each thing it forbids.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const run = promisify(execFile);
const script = path.resolve(import.meta.dirname, "../../scripts/layers.mjs");
let dir: string | undefined;

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Lays out `files` (path -> text) in a fresh tree and runs the check on it. */
async function check(files: Record<string, string>): Promise<{ code: number; out: string }> {
  dir = mkdtempSync(path.join(tmpdir(), "herald-layers-"));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
  try {
    const { stdout, stderr } = await run(process.execPath, [script, "--src", dir]);
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/** A small tree that keeps every rule. */
const clean = {
  "vocabulary.ts": "export type FeedKey = string;\n",
  "jobs/queues.ts": 'import type { FeedKey } from "../vocabulary.ts";\nexport const QUEUE = {};\n',
  "releases/store.ts": 'import { QUEUE } from "../jobs/queues.ts";\n',
  "feeds/channel.ts": 'import "../releases/store.ts";\nimport { QUEUE } from "../jobs/queues.ts";\n',
  "mail/channel.ts": "export {};\n",
  "jobs/channels.ts": 'import "../feeds/channel.ts";\nimport "../mail/channel.ts";\n',
  "http/app.ts": 'import "../jobs/channels.ts";\n',
};

describe("npm run layers", () => {
  it("passes the real src/", async () => {
    const { stdout } = await run(process.execPath, [script]);
    expect(stdout).toMatch(/no cycle, none up the layers/);
  });

  it("passes a tree that keeps the rules", async () => {
    const r = await check(clean);
    expect(r.out).toMatch(/7 files, \d+ imports, no cycle/);
    expect(r.code).toBe(0);
  });

  it("fails on an import up the layers, static, re-exported, multi-line or dynamic", async () => {
    const r = await check({
      ...clean,
      "releases/store.ts":
        'import {\n  type X,\n} from "../feeds/channel.ts";\nexport type { Y } from "../jobs/channels.ts";\nexport const f = () => import("../http/app.ts");\n',
      "feeds/channel.ts": "export {};\n",
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain("releases/store.ts -> feeds/channel.ts: middle imports channels (up the layers)");
    expect(r.out).toContain("releases/store.ts -> jobs/channels.ts: middle imports jobs (up the layers)");
    expect(r.out).toContain("releases/store.ts -> http/app.ts: middle imports entry (up the layers)");
  });

  it("does not count an import that is commented out", async () => {
    const r = await check({
      ...clean,
      "releases/store.ts": '// import "../http/app.ts";\n/* import "../jobs/channels.ts"; */\n',
    });
    expect(r.code).toBe(0);
  });

  it("fails on a channel importing another channel, templates included in the email room", async () => {
    const r = await check({
      ...clean,
      "templates/messages.ts": 'import "../feeds/channel.ts";\n',
      "mail/channel.ts": 'import "../templates/messages.ts";\n',
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain("templates/messages.ts -> feeds/channel.ts: channel mail imports channel feeds");
    expect(r.out).not.toContain("mail/channel.ts -> templates/messages.ts");
  });

  it("fails on a cycle, even within one floor", async () => {
    const r = await check({
      ...clean,
      "releases/a.ts": 'import "./b.ts";\n',
      "releases/b.ts": 'import { a } from "./a.ts";\n',
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/import cycle: releases\/a\.ts -> releases\/b\.ts -> releases\/a\.ts/);
  });

  it("fails on a file in no floor", async () => {
    const r = await check({ ...clean, "stray.ts": "export {};\n" });
    expect(r.code).toBe(1);
    expect(r.out).toContain("stray.ts: in no layer");
  });
});
