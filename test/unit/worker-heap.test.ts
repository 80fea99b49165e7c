// WORKER_HEAP_GROWTH_PERCENT: a process running workers bounds how far V8 lets its old generation
// grow past the live set (set at run time, no Node flag). The same steady live set and stream of
// promoted garbage (as a send batch's messages are) in two processes: with V8's own rule the heap
// reaches a multiple of the live set, with the bound it stays near it.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.ts";
import { ROOT } from "../helpers/cli.ts";

const TSX = pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;
const FIXTURE = path.join(ROOT, "test/fixtures/heap/grow.ts");

function peakHeapMb(percent: number): number {
  const out = execFileSync(process.execPath, ["--import", TSX, FIXTURE, String(percent)], { encoding: "utf8" });
  return (JSON.parse(out.trim()) as { peakHeapMb: number }).peakHeapMb;
}

describe("a worker process's heap", { timeout: 60_000 }, () => {
  it("grows to a multiple of the live set under V8's rule, and stays near it with the bound", () => {
    const unbounded = peakHeapMb(0);
    const bounded = peakHeapMb(30);
    expect(bounded).toBeLessThan(unbounded * 0.7);
  });

  it("is bounded at 30 % by default; 0 leaves V8's rule", () => {
    expect(loadConfig({}).workerHeapGrowthPercent).toBe(30);
    expect(loadConfig({ WORKER_HEAP_GROWTH_PERCENT: "0" }).workerHeapGrowthPercent).toBe(0);
    expect(() => loadConfig({ WORKER_HEAP_GROWTH_PERCENT: "-1" })).toThrow(/WORKER_HEAP_GROWTH_PERCENT/);
  });
});
