// Repeat mode for the crash suites: `npm run test:reliability -- --repeat 5` runs the worker
// crash, digest crash and stall tests N times in a row (each run a fresh vitest, the crash
// suites beside their CPU hog) and prints each run's duplicate and loss figures, then a summary.
// Options: --repeat N (default 1), --hog N (busy processes per crash suite, default twice the
// cores; 0 for none), and test files to run instead of the three suites.
// Exits non-zero when any run failed. Full output of each run: the log file it names.
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SUITES = [
  "test/reliability/partner-crash.test.ts",
  "test/reliability/digest-crash.test.ts",
  "test/reliability/stall.test.ts",
];

function usage(msg: string): never {
  console.error(`test:reliability: ${msg} (usage: npm run test:reliability -- [--repeat N] [--hog N] [test files])`);
  process.exit(2);
}

function parseArgs(argv: string[]): { repeat: number; hog?: string; files: string[] } {
  let repeat = 1;
  let hog: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) usage(`${a} needs a whole number`);
      return v;
    };
    if (a === "--repeat") {
      repeat = Number(value());
      if (repeat < 1 || repeat > 100) usage("--repeat: 1 to 100");
    } else if (a === "--hog") hog = value();
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else files.push(a);
  }
  return { repeat, hog, files: files.length > 0 ? files : SUITES };
}

interface Figures {
  suite: string;
  hog: number;
  duplicates: number;
  allowed: number;
  lost: number;
  beyondBound?: number;
  takenOver?: number;
  batchesTakenOver?: number;
  deliveriesTakenOver?: number;
}

function runOnce(
  files: string[],
  env: NodeJS.ProcessEnv,
  log: string,
): Promise<{ code: number; figures: Figures[]; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const out = createWriteStream(log);
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules/vitest/vitest.mjs"), "run", ...files], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    const take = (d: Buffer) => {
      text += d;
      out.write(d);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code) => {
      out.end();
      const figures = [...text.matchAll(/\[reliability\] (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as Figures);
      resolve({ code: code ?? 1, figures, seconds: Math.round((Date.now() - started) / 1000) });
    });
  });
}

const { repeat, hog, files } = parseArgs(process.argv.slice(2));
const env = { ...process.env, ...(hog !== undefined ? { HERALD_TEST_HOG: hog } : {}) };
const dir = mkdtempSync(path.join(tmpdir(), "herald-reliability-"));
console.info(`${repeat} run(s) of ${files.join(", ")}; logs in ${dir}`);
const rows: string[] = [];
let failedRuns = 0;
for (let run = 1; run <= repeat; run++) {
  const log = path.join(dir, `run-${run}.log`);
  const r = await runOnce(files, env, log);
  if (r.code !== 0) failedRuns += 1;
  console.info(
    `run ${run}/${repeat}: ${r.code === 0 ? "passed" : "FAILED"} in ${r.seconds} s${r.code === 0 ? "" : ` (see ${log})`}`,
  );
  for (const f of r.figures) {
    const row = `  ${f.suite.padEnd(14)} hog ${String(f.hog).padStart(2)}  duplicates ${String(f.duplicates).padStart(3)} (in flight at kills: ${String(f.allowed).padStart(3)}, beyond that: ${f.beyondBound ?? 0})  lost ${f.lost}  jobs taken over ${f.takenOver ?? f.batchesTakenOver ?? f.deliveriesTakenOver ?? "?"}`;
    console.info(row);
    rows.push(`run ${run} ${row.trim()}`);
  }
  if (r.figures.length === 0) console.info("  no figures printed (see the log)");
}
console.info(`\n${repeat - failedRuns} of ${repeat} run(s) passed`);
process.exit(failedRuns > 0 ? 1 : 0);
