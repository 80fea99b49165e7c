// MJML renders on a worker thread that stops when idle. A worker process renders MJML a handful
// of times per digest run (each language's layout, each kind of release block: the segments are
// assembled from those) and once per alert segment; mjml with its dependencies (cheerio twice,
// juice, lodash, js-beautify) is ~15 MB of live heap and ~30 MB of RSS that a process rendering
// in place would carry for good, on top of every message it sends. On the thread it is loaded for
// a burst of renders, and given back IDLE_MS after the last one.
//
// The thread's code is plain JavaScript that requires mjml by its resolved path: the same from
// dist/ and from the TypeScript source (tsx, tests). A thread that cannot start (no threads here)
// leaves rendering in place for the rest of the process.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** Options Herald renders with (render.ts). */
export interface MjmlOptions {
  validationLevel: "soft";
  keepComments: false;
}

/** How long the thread outlives its last render: a digest run's renders come in a burst at its start. */
export const IDLE_MS = 250;
/** The thread's young generation (MB): it renders a few documents, not a stream of messages. */
const YOUNG_MB = 4;

const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const mjml2html = require(workerData.mjml);
parentPort.on("message", ({ id, mjml, options }) => {
  Promise.resolve()
    .then(() => mjml2html(mjml, options))
    .then((out) => parentPort.postMessage({ id, html: out.html }))
    .catch((err) => parentPort.postMessage({ id, error: String((err && err.message) || err) }));
});
`;

type Reply = { id: number; html: string } | { id: number; error: string };

interface Pending {
  resolve(html: string): void;
  reject(err: Error): void;
}

/** The thread cannot run here: render in place. */
export class NoThread extends Error {}

class MjmlThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idle: NodeJS.Timeout | null = null;
  /** Threads started (for tests: a burst of renders shares one). */
  started = 0;
  /** A thread failed to start: every render from now on is in place. */
  broken = false;

  render(mjml: string, options: MjmlOptions): Promise<string> {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    const worker = this.worker ?? this.start();
    worker.ref();
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, mjml, options });
    });
  }

  private start(): Worker {
    const mjmlPath = createRequire(import.meta.url).resolve("mjml");
    let worker: Worker;
    try {
      worker = new Worker(THREAD, {
        eval: true,
        workerData: { mjml: mjmlPath },
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB },
      });
    } catch (err) {
      this.broken = true;
      throw new NoThread((err as Error).message);
    }
    this.started += 1;
    this.worker = worker;
    worker.on("message", (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if ("html" in reply) p.resolve(reply.html);
      else p.reject(new Error(`MJML: ${reply.error}`));
      if (this.pending.size === 0) this.rest(worker);
    });
    worker.on("error", (err) => this.drop(worker, err));
    worker.on("exit", (code) => this.drop(worker, new Error(`the MJML renderer stopped (exit code ${code})`)));
    return worker;
  }

  /** Stops the thread now if nothing is in flight (it would stop after IDLE_MS anyway). */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker || this.pending.size > 0) return;
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    this.worker = null;
    await worker.terminate();
  }

  /** Nothing in flight: the thread no longer keeps the process alive, and stops after IDLE_MS. */
  private rest(worker: Worker): void {
    worker.unref();
    this.idle = setTimeout(() => {
      this.idle = null;
      if (this.worker === worker && this.pending.size === 0) {
        this.worker = null;
        void worker.terminate();
      }
    }, IDLE_MS);
    this.idle.unref();
  }

  /** The thread died (or was stopped): what it had in hand fails; the next render starts a new one. */
  private drop(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

export const mjmlThread = new MjmlThread();
