// What a test file leaves running: BullMQ Workers, Redis connections and long-running `herald`
// child processes. Like graphile-worker, a file that leaks one fails (leak-check.ts, a vitest
// setup file, asks after the file's last afterAll): a leaked worker keeps taking jobs of later
// tests on a reused prefix, and leaked connections pile up on the shared redis-server.
//
// Everything is registered where it is made, not guessed from the outside: every ioredis
// connection (Redis or Cluster: the ones src/ makes, the tests' own, and BullMQ's duplicates,
// among them each Worker's blocking connection, which lives exactly as long as the Worker runs)
// goes through connect(), and test/helpers/cli.ts registers the processes it starts. Whether
// each is still open is read from its own state (ioredis' status, the child's exit code), so the
// check does not depend on timing: the only wait is a short grace for a close the test started
// but did not await. (Only ioredis is patched, not BullMQ: loading BullMQ into every test file,
// unit tests included, would cost more time than the check is worth.)
import type { ChildProcess } from "node:child_process";
import { Cluster, Redis } from "ioredis";

interface Tracked {
  what: string;
  /** Where it was made: the first frames of the stack in test/ and src/. */
  where: string;
  open(): boolean;
  /** Its state now, when that says more than "open". */
  state?(): string;
}

interface Registry {
  installed: boolean;
  tracked: Set<Tracked>;
  seen: WeakSet<object>;
}

// On globalThis: the setup file and the test's own imports must share one registry, and the
// patches must be applied once per process even when a worker process runs several files.
const KEY = Symbol.for("herald.test.leaks");
const store = globalThis as Record<symbol, Registry | undefined>;
store[KEY] ??= { installed: false, tracked: new Set<Tracked>(), seen: new WeakSet<object>() };
const registry = store[KEY];

function madeAt(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const frames = stack
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /\/(test|src)\//.test(l) && !l.includes("node_modules") && !l.includes("/helpers/leaks.ts"))
    .map((l) => l.replace(/^at\s+/, "").replace(/(?:file:\/\/)?\/[^\s()]*?\/((?:test|src)\/)/, "$1"));
  return frames.slice(0, 3).join(" <- ") || "(no test or src frame)";
}

function track(target: object, what: () => string, open: () => boolean, state?: () => string): void {
  if (registry.seen.has(target)) return;
  registry.seen.add(target);
  registry.tracked.add({ what: what(), where: madeAt(), open, state });
}

/** What both Redis and Cluster have, and what the check reads of it (reconnectTimeout is private). */
interface Connection {
  status: string;
  options: object;
  reconnectTimeout?: unknown;
  manuallyClosing?: boolean;
}

/** A single connection is open when connected, connecting, or due to reconnect. */
function connectionOpen(c: Connection): boolean {
  if (c.status === "wait" || c.status === "end") return false;
  // ioredis quirk: disconnect() during a reconnect delay cancels the reconnect but leaves the
  // status at "reconnecting"; with no reconnect timer pending it is closed all the same.
  if (c.status === "reconnecting" && !c.reconnectTimeout) return false;
  return true;
}

/**
 * A Cluster holds no socket itself: its nodes do, and each node is a Redis connection checked on
 * its own. The Cluster is left open when nobody closed it. (After quit() it may stay at
 * "disconnecting" or "close" for good: ioredis waits for nodes that never connected to end.)
 */
function clusterOpen(c: Connection): boolean {
  return c.status !== "wait" && c.status !== "end" && !c.manuallyClosing;
}

function describeConnection(c: Connection, kind: string): string {
  const o = c.options as {
    connectionName?: string;
    host?: string;
    port?: number;
    sentinels?: unknown;
    redisOptions?: { connectionName?: string };
  };
  const name = o.connectionName ?? o.redisOptions?.connectionName ?? "(unnamed)";
  const where = o.sentinels ? " via Sentinel" : o.host ? ` ${o.host}:${o.port}` : "";
  return `${kind} "${name}"${where}${workerOf(name)}`;
}

/**
 * BullMQ names a Worker's blocking connection "{queue prefix}:{base64 of the queue name}"; that
 * connection stays open exactly as long as the Worker runs, so it stands for the Worker.
 */
function workerOf(name: string): string {
  const m = /:([A-Za-z0-9+/]+={0,2})$/.exec(name);
  if (!m) return "";
  const queue = Buffer.from(m[1]!, "base64").toString("utf8");
  const named = /^[a-z][a-z-]*$/.test(queue) && Buffer.from(queue).toString("base64") === m[1];
  return named ? ` (a BullMQ Worker of queue "${queue}")` : "";
}

/** Registers every Redis connection (BullMQ Workers' included) this process makes from now on. */
export function installLeakTracking(): void {
  if (registry.installed) return;
  registry.installed = true;
  for (const [Class, kind, open] of [
    [Redis, "Redis connection", connectionOpen],
    [Cluster, "Redis Cluster", clusterOpen],
  ] as const) {
    const connect = Class.prototype.connect as (this: unknown, ...args: unknown[]) => Promise<void>;
    Class.prototype.connect = function (this: Connection, ...args: unknown[]) {
      track(
        this,
        () => describeConnection(this, kind),
        () => open(this),
        () => `status ${this.status}`,
      );
      return connect.apply(this, args);
    } as typeof Class.prototype.connect;
  }
}

/** A long-running child process (a `herald start`): open until it has exited. */
export function trackChild(child: ChildProcess, what: string): void {
  track(
    child,
    () => `child process ${child.pid} (${what})`,
    () => child.exitCode === null && child.signalCode === null,
  );
}

/** A close begun but not awaited (quit() without await, a worker closing) finishes within this. */
const GRACE_MS = 3_000;

/**
 * What is still open, after the grace; forgets everything registered so far (the next file, when
 * a process runs several, starts clean).
 */
export async function leftOpen(): Promise<string[]> {
  const deadline = Date.now() + GRACE_MS;
  let open = [...registry.tracked].filter((t) => t.open());
  while (open.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    open = open.filter((t) => t.open());
  }
  registry.tracked.clear();
  return open.map((t) => `${t.what}${t.state ? ` (${t.state()})` : ""}, made at ${t.where}`);
}
