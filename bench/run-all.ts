// `npm run bench`: runs every benchmark in bench/ one after another (each in its own process,
// so one cannot warm or slow the next), passes their output through, then prints one summary
// table of the figures each printed on its `BENCH {json}` line.
import { spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter(
    (f) =>
      f.endsWith(".ts") &&
      f !== "run-all.ts" &&
      !f.includes("receiver") &&
      !f.includes("server") &&
      !f.includes("sink") &&
      !f.startsWith("_"),
  )
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

function run(script: string): Promise<{ script: string; code: number; figures: Record<string, unknown> | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(dir, script)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let figures: Record<string, unknown> | null = null;
    let buffered = "";
    child.stdout.on("data", (d: Buffer) => {
      process.stdout.write(d);
      buffered += d;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const l of lines) if (l.startsWith("BENCH ")) figures = JSON.parse(l.slice(6));
    });
    child.on("exit", (code) => resolve({ script, code: code ?? 1, figures }));
  });
}

function flatten(o: Record<string, unknown>, prefix = ""): [string, string][] {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? flatten(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, String(v)] as [string, string]],
  );
}

const results = [];
for (const s of scripts) {
  process.stdout.write(`\n=== ${s}\n`);
  results.push(await run(s));
}
process.stdout.write(
  `\n=== summary (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version})\n`,
);
const rows: [string, string, string][] = [];
for (const r of results) {
  if (!r.figures) {
    rows.push([r.script, "(no figures)", `exit ${r.code}`]);
    continue;
  }
  for (const [k, v] of flatten(r.figures)) if (k !== "name") rows.push([String(r.figures.name ?? r.script), k, v]);
}
const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), 6));
for (const r of [["bench", "figure", "value"] as [string, string, string], ...rows]) {
  process.stdout.write(`${r.map((c, i) => c.padEnd(w[i]!)).join("  ")}\n`);
}
process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0;
