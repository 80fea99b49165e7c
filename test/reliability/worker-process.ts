// A real, separate `herald start --workers-only` process that a test can SIGKILL and start
// again: the crash is the operating system's, not a simulated one inside the test's process.
import type { ChildProcess } from "node:child_process";
import { startCli, stopCli } from "../helpers/cli.ts";

export interface WorkerProcess {
  /** SIGKILL: no shutdown hook runs, open sockets and held job locks are left behind. */
  kill(): Promise<void>;
  /** Starts a new process with the same environment. */
  restart(): Promise<void>;
  /** SIGTERM and wait (active jobs finish). */
  stop(): Promise<void>;
  /**
   * SIGSTOP: the process gets no CPU at all, as a worker starved past its job locks (its
   * sockets stay open, its timers fire late). resume() sends SIGCONT.
   */
  pause(): void;
  resume(): void;
  output(): string;
}

export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const fullEnv = { LOG_LEVEL: "info", WORKER_LOCK_MS: "3000", ...env };
  let child: ChildProcess | null = null;
  let log = "";
  let current: () => string = () => "";
  const launch = async () => {
    const started = await startCli(["start", "--workers-only"], fullEnv, /workers running for/, 60_000);
    child = started.child;
    current = started.output;
  };
  await launch();
  return {
    async kill() {
      if (!child) return;
      log += current();
      await stopCli(child, "SIGKILL");
      child = null;
    },
    async restart() {
      if (child) throw new Error("the worker process is still running");
      await launch();
    },
    async stop() {
      if (!child) return;
      log += current();
      await stopCli(child, "SIGTERM");
      child = null;
    },
    pause() {
      if (!child) throw new Error("the worker process is not running");
      child.kill("SIGSTOP");
    },
    resume() {
      child?.kill("SIGCONT");
    },
    output: () => log + (child ? current() : ""),
  };
}
