// A CPU hog for starvation runs: busy child processes beside the test, so the worker under test
// gets a slice of a core instead of one (the case: load ~16 on 2 cores, event loops
// late by seconds, job locks lost while their worker is still sending).
//
// HERALD_TEST_HOG: how many busy processes (default twice the cores; 0 turns the hog off). Each
// child exits by itself when its parent goes away or after HOG_MAX_MS, so a test that dies
// never leaves a machine burning.
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";

const HOG_MAX_MS = 10 * 60_000;

const BUSY = `
const parent = process.ppid, end = Date.now() + ${HOG_MAX_MS};
for (let i = 1; ; i++) if (i % 5e6 === 0 && (Date.now() > end || process.ppid !== parent)) process.exit(0);
`;

export interface CpuHog {
  /** Busy processes running. */
  size: number;
  stop(): Promise<void>;
}

export function hogSize(): number {
  const v = process.env.HERALD_TEST_HOG;
  if (v === undefined || v === "") return 2 * availableParallelism();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 64)
    throw new Error(`HERALD_TEST_HOG=${JSON.stringify(v)}: a whole number 0-64 (busy processes)`);
  return n;
}

export function startCpuHog(n = hogSize()): CpuHog {
  const children: ChildProcess[] = [];
  for (let i = 0; i < n; i++) children.push(spawn(process.execPath, ["-e", BUSY], { stdio: "ignore" }));
  return {
    size: n,
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once("exit", () => resolve());
              c.kill("SIGKILL");
            }),
        ),
      );
    },
  };
}

/**
 * One line per run that the repeat script (test/reliability/repeat.ts) collects:
 * `[reliability] {"suite":…,"duplicates":…,"allowed":…,"lost":…}`.
 */
export function reportFigures(figures: {
  suite: string;
  hog: number;
  duplicates: number;
  allowed: number;
  lost: number;
  [k: string]: unknown;
}): void {
  console.info(`[reliability] ${JSON.stringify(figures)}`);
}
