// CSV import benchmark: generates N rows to a temporary file and imports it the way
// `herald subscribers import` does (checkCsv, then importSubscriberCsv), into its own throwaway
// redis-server. Prints rows/s, CPU time per row, and the importing process's memory: peak RSS
// (the kernel's maxRSS), peak V8 heap used (sampled every 20 ms, garbage included) and peak live
// heap (after a full GC every 20 batches: what the import holds), beside the baseline taken just
// before the import. Each size runs in a fresh process, so one size's peak cannot
// hide in another's. Streaming means the 1M-row peak is about the 100k-row one.
//   npx tsx bench/csv-import.ts [rows=100000[,1000000…]]
import { fork } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { testConfig } from "../src/config/index.ts";
import { freePort, startRedisServer } from "../src/redis/embedded.ts";
import { createRuntime } from "../src/runtime.ts";
import { checkCsv, fileSource, importSubscriberCsv } from "../src/subscribers/csv-import.ts";

const MB = 1024 * 1024;
const ZONES = ["UTC", "Europe/Paris", "America/Lima", "Asia/Tokyo"];
const LANGS = ["en", "fr", "es"];
const FREQS = ["daily", "weekly", "immediate"];

interface Figures {
  rows: number;
  fileMB: number;
  checkS: number;
  importS: number;
  rowsPerS: number;
  cpuUsPerRow: number;
  baseRssMB: number;
  peakRssMB: number;
  baseHeapMB: number;
  peakHeapMB: number;
  peakLiveHeapMB: number;
  loadavg: number;
}

async function writeCsv(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write("email,name,language,frequency,topics,regions,timezone\n");
  for (let i = 0; i < rows; i += 1000) {
    let chunk = "";
    for (let k = i; k < Math.min(rows, i + 1000); k++)
      chunk += `reader${k}@example.org,Reader ${k},${LANGS[k % 3]},${FREQS[k % 3]},,,${ZONES[k % 4]}\n`;
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

/** One size, in this process: the figures. */
async function one(rows: number): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-bench-csv-"));
  const server = await startRedisServer({ dir, port: await freePort(), appendonly: false });
  const rt = await createRuntime({
    config: testConfig({ prefix: "bench-csv", secretKey: "bench-secret-key-0123456789abcdef0123456789" }),
    redisUrl: server.url,
  });
  try {
    const file = path.join(dir, "readers.csv");
    await writeCsv(file, rows);
    global.gc?.();
    const base = process.memoryUsage();
    let peakHeap = base.heapUsed;
    const sampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 20);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const csv = await checkCsv(fileSource(file));
    const t1 = performance.now();
    // What the import holds, garbage aside: the heap after a full GC, every 20 batches.
    let peakLive = base.heapUsed;
    let batches = 0;
    const r = await importSubscriberCsv(rt, csv, {
      confirmed: true,
      onProgress: () => {
        if (++batches % 20 !== 0 || !global.gc) return;
        global.gc();
        peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
      },
    });
    const t2 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    if (r.imported !== rows) throw new Error(`imported ${r.imported} of ${rows} rows`);
    return {
      rows,
      fileMB: +(statSync(file).size / MB).toFixed(1),
      checkS: +((t1 - t0) / 1000).toFixed(1),
      importS: +((t2 - t1) / 1000).toFixed(1),
      rowsPerS: Math.round(rows / ((t2 - t0) / 1000)),
      cpuUsPerRow: Math.round((cpu.user + cpu.system) / rows),
      baseRssMB: Math.round(base.rss / MB),
      // maxRSS is in KiB and covers the whole process; the import is its largest part by far.
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      baseHeapMB: Math.round(base.heapUsed / MB),
      peakHeapMB: Math.round(peakHeap / MB),
      peakLiveHeapMB: Math.round(peakLive / MB),
      loadavg: +loadavg()[0]!.toFixed(1),
    };
  } finally {
    await rt.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--one") {
  const figures = await one(Number(process.argv[3]));
  process.send!(figures);
} else {
  const sizes = (process.argv[2] ?? "100000").split(",").map(Number);
  const all: Figures[] = [];
  for (const rows of sizes) {
    const child = fork(fileURLToPath(import.meta.url), ["--one", String(rows)], {
      execArgv: ["--import", "tsx", "--expose-gc"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const [figures] = (await once(child, "message")) as [Figures];
    await once(child, "exit");
    all.push(figures);
    console.log(
      `${rows} rows (${figures.fileMB} MB): check ${figures.checkS} s, import ${figures.importS} s, ${figures.rowsPerS} rows/s, ${figures.cpuUsPerRow} µs CPU/row; peak RSS ${figures.peakRssMB} MB (before: ${figures.baseRssMB}), peak heap ${figures.peakHeapMB} MB, live after GC ${figures.peakLiveHeapMB} MB (before: ${figures.baseHeapMB}); load ${figures.loadavg}`,
    );
  }
  console.log(`BENCH ${JSON.stringify({ csvImport: all })}`);
}
