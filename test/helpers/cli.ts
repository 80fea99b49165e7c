// Runs the real `herald` command as a child process, from the TypeScript source through tsx, so
// tests always exercise the current src/ (never a stale dist/). bin/herald.js runs the compiled
// dist/ instead: test/integration/cli-build.test.ts builds it afresh and checks that path.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { trackChild } from "./leaks.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const MAIN = path.join(ROOT, "src/main.ts");
/** node arguments that run the source `herald` command (tsx by path: works from any cwd). */
export const HERALD_ARGS = ["--import", pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/loader.mjs")).href, MAIN];
/** A developer's .env must not leak into tests (a test about .env sets HERALD_ENV_FILE itself). */
const BASE_ENV = { HERALD_ENV_FILE: "off" };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `input`: written to the command's standard input (which is otherwise empty). */
export function runCli(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; timeoutMs?: number; input?: string | Buffer } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...HERALD_ARGS, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "warn", ...BASE_ENV, ...env },
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
      stdout += d;
    });
    child.stderr!.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`herald ${args.join(" ")} timed out; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Starts a long-running `herald` process; resolves once `ready` matches its output. */
export function startCli(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<{ child: ChildProcess; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...HERALD_ARGS, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...BASE_ENV, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    trackChild(child, `herald ${args.join(" ")}`); // a file that leaves it running fails (leaks.ts)
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`herald ${args.join(" ")} not ready in time; output: ${out}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`herald ${args.join(" ")} exited with ${code}; output: ${out}`));
    });
  });
}

export function stopCli(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.removeAllListeners("exit");
    child.once("exit", (code) => resolve(code));
    child.kill(signal);
  });
}
