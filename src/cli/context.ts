// What every CLI command needs: config, a runtime on the chosen Redis, and one way to fail:
// one line on stderr and a non-zero exit.
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { chooseRedis } from "../boot.ts";
import { type Config, ConfigError, loadConfig } from "../config/index.ts";
import { HeraldError } from "../errors.ts";
import { createLogger } from "../log.ts";
import type { Runtime } from "../runtime.ts";
import { withSecretKey } from "../subscribers/tokens.ts";
import { isProbablyBinary } from "./binary.ts";

export class CliError extends Error {}

let cached: Config | undefined;
export function cliConfig(): Config {
  // Subscriber links are signed: every command gets the key (SECRET_KEY or var/secret-key).
  cached ??= withSecretKey(loadConfig());
  return cached;
}

/** Runs `fn` with a runtime, closing it afterwards. */
export async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const config = cliConfig();
  const redis = await chooseRedis(config, false);
  // Loaded here: BullMQ and ioredis are most of a command's start-up, and `import` or --help need neither.
  const { createRuntime } = await import("../runtime.ts");
  const rt = await createRuntime({
    config,
    redisUrl: redis.url,
    log: createLogger(config.logLevel === "info" ? "warn" : config.logLevel),
  });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

/** Wraps a command action: any error becomes `herald: reason` and exit code 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`herald: ${oneLine(err)}\n`);
      process.exitCode = err instanceof HeraldError && err.status === 404 ? 3 : 1;
    }
  };
}

export function oneLine(err: unknown): string {
  const msg =
    err instanceof ConfigError || err instanceof HeraldError || err instanceof CliError
      ? err.message
      : ((err as Error)?.message ?? String(err));
  return msg.replace(/\s*\n\s*/g, " ").trim();
}

/** "a,b" -> ["a","b"] */
export function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Checks FILE is a readable file of at most `maxBytes`; the one-line reason otherwise. */
export function checkFile(file: string, maxBytes: number): void {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new CliError(`${file} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
    );
  }
  if (size > maxBytes)
    throw new CliError(
      `${file} is ${Math.round(size / 1024 / 1024)} MiB; at most ${Math.round(maxBytes / 1024 / 1024)} MiB is accepted`,
    );
}

/** Reads FILE as text, refusing what is missing, a directory, too large or binary. */
export function readTextFile(file: string, maxMiB = 5): string {
  const buf = readBytesFile(file, maxMiB);
  if (isProbablyBinary(buf)) throw new CliError(`${file} looks like a binary file, not text`);
  return buf.toString("utf8").replace(/^\uFEFF/, "");
}

/** FILE's bytes, refused when missing, a directory or over the limit; for callers that decode strictly. */
export function readBytesFile(file: string, maxMiB = 5): Buffer {
  checkFile(file, maxMiB * 1024 * 1024);
  return readFileSync(file);
}

/** The first `bytes` bytes of FILE (fewer if it is shorter): for a look at a file read as a stream. */
export function readHead(file: string, bytes: number): Buffer {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads FILE, or standard input for "-" or no FILE (an MTA pipe), as bytes, refusing what is
 * missing, a directory, over `maxBytes`, or an interactive terminal with nothing piped.
 */
export async function readInput(file: string | undefined, maxBytes: number): Promise<Buffer> {
  if (file && file !== "-") {
    checkFile(file, maxBytes);
    return readFileSync(file);
  }
  if (process.stdin.isTTY) throw new CliError("give a FILE, or pipe the message on standard input");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > maxBytes)
      throw new CliError(
        `standard input is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB; at most that is accepted`,
      );
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
