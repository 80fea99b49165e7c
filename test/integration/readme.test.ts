// Issue 14.6: every shell block in README.md runs as written, in order, the way a new user types
// them after the quick start: in a fresh directory (its own var/, hence a fresh API token, secret
// key and outbox), on the throwaway Redis under a fresh prefix, with nothing configured.
//
// Conventions (README.md, "README conventions"):
// - A ```sh block runs unless the line before it is `<!-- not-run: REASON -->` (it needs a Docker
//   engine, the network, a placeholder such as ID, or would run this suite again).
// - `<!-- background: TEXT -->` marks a long-running command (npm start): it is started, must
//   print TEXT, and keeps running for the blocks after it; it is stopped at the end.
// - `npx herald` and `npm start` run the current source (src/ through tsx), never a stale dist/.
//   Port 3000 in a block is the port the background server got (a free one).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/redis/embedded.ts";
import { HERALD_ARGS, ROOT } from "../helpers/cli.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "../helpers/runtime.ts";

interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  mode: "run" | "background" | "not-run";
  /** The not-run reason, or the text a background command prints when it is up. */
  note?: string;
}

function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split("\n");
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "```sh") continue;
    let j = i - 1;
    while (j >= 0 && lines[j]!.trim() === "") j--;
    const directive = /^<!--\s*(not-run|background):\s*(.*?)\s*-->$/.exec(lines[j]?.trim() ?? "");
    const end = lines.findIndex((l, k) => k > i && l.trim() === "```");
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed sh block`);
    blocks.push({
      line: i + 1,
      code: lines.slice(i + 1, end).join("\n"),
      mode: (directive?.[1] as ShellBlock["mode"]) ?? "run",
      note: directive?.[2],
    });
    i = end;
  }
  return blocks;
}

const blocks = shellBlocks(readFileSync(path.join(ROOT, "README.md"), "utf8"));
const work = mkdtempSync(path.join(tmpdir(), "herald-readme-"));
const prefix = uniquePrefix("readme");
let port = 0;
let server: ChildProcess | null = null;
let serverOutput = "";

const prelude = () => `set -euo pipefail
herald_src() { "${process.execPath}" ${HERALD_ARGS.map((a) => `"${a}"`).join(" ")} "$@"; }
npx() { if [ "\${1:-}" = herald ]; then shift; herald_src "$@"; else command npx "$@"; fi; }
npm() { if [ "\${1:-}" = start ]; then shift; herald_src start "$@"; else command npm "$@"; fi; }
`;

const env = () => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "/tmp",
  REDIS_URL: redisUrl(),
  HERALD_PREFIX: prefix,
  PORT: String(port),
  HERALD_ENV_FILE: "off",
  LOG_LEVEL: "info",
});

const withPort = (code: string) => code.replace(/\b(127\.0\.0\.1|localhost):3000\b/g, `$1:${port}`);

function runBlock(block: ShellBlock, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", prelude() + withPort(block.code)], { cwd: work, env: env(), detached: true });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const timer = setTimeout(() => {
      out += `\n(timed out after ${timeoutMs} ms)`;
      process.kill(-child.pid!, "SIGKILL");
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function startBackground(block: ShellBlock, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", prelude() + withPort(block.code)], { cwd: work, env: env(), detached: true });
    server = child;
    const onData = (d: Buffer) => {
      serverOutput += d;
      if (serverOutput.includes(block.note!)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const timer = setTimeout(
      () => reject(new Error(`README.md:${block.line}: not up in time; output:\n${serverOutput}`)),
      timeoutMs,
    );
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`README.md:${block.line}: exited with ${code}; output:\n${serverOutput}`));
    });
  });
}

beforeAll(async () => {
  port = await freePort();
  symlinkSync(path.join(ROOT, "examples"), path.join(work, "examples"));
});

afterAll(async () => {
  if (server?.pid && server.exitCode === null) {
    const exited = new Promise((r) => server!.once("exit", r));
    process.kill(-server.pid, "SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (server.exitCode === null) process.kill(-server.pid, "SIGKILL");
  }
  await deletePrefix(prefix);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("README.md shell blocks", () => {
  it("each is runnable, background or says why it is not run", () => {
    expect(blocks.length).toBeGreaterThan(8);
    // Shell under another fence name would escape this test.
    expect(readFileSync(path.join(ROOT, "README.md"), "utf8")).not.toMatch(/^```(bash|shell|console|zsh)\s*$/m);
    for (const b of blocks.filter((x) => x.mode !== "run")) expect(b.note, `README.md:${b.line}`).toMatch(/\S{3,}/);
    // The ones that run are most of them, and include the quick start's npm start.
    expect(blocks.filter((b) => b.mode === "run").length).toBeGreaterThanOrEqual(6);
    expect(blocks.find((b) => b.mode === "background")?.code).toMatch(/^npm start\b/);
  });

  it("run in order, as written, after the quick start", { timeout: 900_000 }, async () => {
    for (const block of blocks) {
      if (block.mode === "not-run") continue;
      if (block.mode === "background") {
        await startBackground(block, 120_000);
        continue;
      }
      const { code, out } = await runBlock(block, 240_000);
      expect(code, `README.md:${block.line} failed:\n${block.code}\n---\n${out}`).toBe(0);
    }
    // What the blocks promise, checked on what they left behind.
    const preview = path.join(work, "ana.html");
    expect(existsSync(preview)).toBe(true);
    expect(statSync(preview).size).toBeGreaterThan(1000);
    expect(readFileSync(preview, "utf8")).toContain("Trafficked Victims in Djibouti");
    expect(serverOutput).toContain(`subscribe:  http://localhost:${port}/subscribe`);
    expect(existsSync(path.join(work, "var", "api-token"))).toBe(true);
  });
});
