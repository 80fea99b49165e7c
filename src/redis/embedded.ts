// The embedded default: with no REDIS_URL and nothing on 127.0.0.1:6379, `herald start`
// runs a local redis-server with its data in var/redis (AOF on) so a fresh install works.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export function portAnswers(port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export interface EmbeddedRedis {
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server on `port` with AOF in `dir`; resolves once it accepts connections. */
export async function startRedisServer(opts: {
  dir: string;
  port: number;
  appendonly?: boolean;
}): Promise<EmbeddedRedis> {
  mkdirSync(opts.dir, { recursive: true });
  const args = [
    "--port",
    String(opts.port),
    "--bind",
    "127.0.0.1",
    "--dir",
    path.resolve(opts.dir),
    "--appendonly",
    opts.appendonly === false ? "no" : "yes",
    "--appendfsync",
    "everysec",
    "--save",
    "",
    "--maxmemory-policy",
    "noeviction",
  ];
  const child = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (err) =>
      reject(
        new Error(
          `cannot run redis-server (${err.message}): install it (apt-get install redis-server) or set REDIS_URL`,
        ),
      ),
    );
    child.once("exit", (code) =>
      reject(new Error(`redis-server exited with code ${code}: ${stderr.trim().slice(0, 200)}`)),
    );
  });
  const deadline = Date.now() + 10_000;
  const ready = (async () => {
    while (Date.now() < deadline) {
      if (await portAnswers(opts.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on port ${opts.port} within 10 s`);
  })();
  await Promise.race([ready, failed]);
  failed.catch(() => {});
  return {
    url: `redis://127.0.0.1:${opts.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Picks a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}
