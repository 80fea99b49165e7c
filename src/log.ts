// One pino logger. Secrets never reach it: the redact list covers the fields that could carry
// them. On a terminal the lines are short and readable; elsewhere they are JSON for collectors.
import { Writable } from "node:stream";
import { type Logger, pino } from "pino";

export type { Logger };

const LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** JSON lines in, "12:00:00 info  message key=value" out. */
export function readableStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) {
        try {
          const { level, time, msg, err, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const extra = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
            .join(" ");
          const errText = err && typeof err === "object" ? ` (${(err as { message?: string }).message})` : "";
          const clock = new Date(Number(time)).toISOString().slice(11, 19);
          out.write(`${clock} ${(LEVELS[Number(level)] ?? "log").padEnd(5)} ${msg ?? ""}${errText}${extra ? ` ${extra}` : ""}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  const tty = (destination as NodeJS.WriteStream).isTTY === true;
  return pino(
    {
      level,
      base: undefined,
      redact: ["secret", "*.secret", "apiToken", "headers.authorization", "password"],
    },
    tty ? readableStream(destination) : destination,
  );
}

export const silentLogger: Logger = pino({ level: "silent" });
