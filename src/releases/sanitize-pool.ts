// Release bodies rendered off the event loop. Sanitising and rendering 1 MB of HTML takes the
// main thread about a second (more on a busy machine), and every other request (feed polls,
// pages) would wait behind it. Bodies above INLINE_MAX_CHARS go to a small pool of worker
// threads instead; smaller ones cost well under a millisecond and are rendered in place.
//
// The workers start on first use, run one body at a time each, and are unref'd while idle so a
// CLI command exits when done. A body that takes longer than RENDER_TIMEOUT_MS is refused (400)
// and its worker replaced.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { invalid } from "../errors.ts";
import { type RenderedBody, renderBody } from "./sanitize.ts";
import type { RenderReply } from "./sanitize-worker.ts";

export const INLINE_MAX_CHARS = 32 * 1024;
export const POOL_SIZE = 2;
export const RENDER_TIMEOUT_MS = 20_000;

// Compiled (dist/, what `npx herald` and `npm start` run) the worker is plain JavaScript; from the
// TypeScript source (tsx: tests, `npm run dev`) the worker registers tsx's loader first.
const COMPILED = import.meta.url.endsWith(".js");
const ENTRY = new URL(COMPILED ? "./sanitize-worker.js" : "./sanitize-worker.ts", import.meta.url);
// Registers tsx's loader in the worker, then loads the worker module.
const BOOT = `
const { workerData } = require("node:worker_threads");
import(workerData.tsx).then((m) => { m.register(); return import(workerData.entry); })
  .catch((err) => { setImmediate(() => { throw err; }); });
`;

function startWorker(): Worker {
  if (COMPILED) return new Worker(ENTRY);
  // tsx's ESM API (its CommonJS build cannot register the loader from a worker): require.resolve
  // finds the package's CommonJS entry, the ESM one is beside it. Resolved here, not at import:
  // tsx is a development dependency.
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs"),
  ).href;
  return new Worker(BOOT, { eval: true, workerData: { tsx, entry: ENTRY.href } });
}

interface Task {
  id: number;
  body: string;
  resolve(r: RenderedBody): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
  timer: NodeJS.Timeout | null;
  /** The worker loaded its module (a failure before that means workers cannot start here). */
  ready: boolean;
}

/** Workers cannot start in this process (no tsx, no threads): bodies are rendered in place. */
class NoWorkers extends Error {}

class RenderPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  broken = false;

  render(body: string): Promise<RenderedBody> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, body, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => s.task === null);
      if (!slot && this.slots.length < POOL_SIZE) slot = this.spawn();
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.timer = setTimeout(() => {
        this.retire(
          slot!,
          invalid(
            `invalid release: body: took more than ${RENDER_TIMEOUT_MS / 1000} s to sanitise; simplify its markup`,
            [{ path: "body", message: "too costly to sanitise" }],
          ),
        );
      }, RENDER_TIMEOUT_MS);
      slot.worker.postMessage({ id: task.id, body: task.body });
    }
  }

  private spawn(): Slot {
    const worker = startWorker();
    const slot: Slot = { worker, task: null, timer: null, ready: false };
    worker.unref();
    worker.on("message", (reply: RenderReply) => {
      if ("ready" in reply) {
        slot.ready = true;
        return;
      }
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      this.finish(slot);
      if (reply.ok) task.resolve({ html: reply.html, text: reply.text });
      else task.reject(reply.invalid ? invalid(reply.message, reply.issues) : new Error(reply.message));
    });
    worker.on("error", (err) => this.retire(slot, slot.ready ? err : new NoWorkers(err.message)));
    worker.on("exit", (code) =>
      this.retire(
        slot,
        slot.ready ? new Error(`the body renderer stopped (exit code ${code})`) : new NoWorkers(`exit code ${code}`),
      ),
    );
    this.slots.push(slot);
    return slot;
  }

  private finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.task = null;
    slot.worker.unref();
    this.pump();
  }

  /** Drops a worker that failed or overran, failing its task; the next task gets a fresh one. */
  private retire(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    if (slot.timer) clearTimeout(slot.timer);
    const task = slot.task;
    slot.task = null;
    void slot.worker.terminate();
    if (err instanceof NoWorkers) {
      // Every queued body is rendered in place from now on.
      this.broken = true;
      for (const t of [task, ...this.queue.splice(0)]) t?.reject(err);
      return;
    }
    task?.reject(err);
    this.pump();
  }
}

let pool: RenderPool | null = null;

/** renderBody(), on a worker thread for large bodies. Rejects with HeraldError 400 for a body it refuses. */
export async function renderBodyOffThread(body: string): Promise<RenderedBody> {
  if (body.length <= INLINE_MAX_CHARS || pool?.broken) return renderBody(body);
  pool ??= new RenderPool();
  try {
    return await pool.render(body);
  } catch (err) {
    if (err instanceof NoWorkers) return renderBody(body);
    throw err;
  }
}
