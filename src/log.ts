// One pino logger. Secrets never reach it: the redact list covers the fields that could carry
// them. On a terminal the lines are pino-pretty's (local clock time, colours); elsewhere they are
// JSON lines for collectors (docker, journald, a file).
import { createRequire } from "node:module";
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

export type LogFormat = "json" | "pretty";

/**
 * The format of a log written to a stream: pretty for a person at a terminal, JSON for anything
 * else (a pipe, a file, a container's log driver). Pure so the terminal case can be tested.
 */
export function logFormat(stream: { isTTY?: boolean }): LogFormat {
  return stream.isTTY === true ? "pretty" : "json";
}

const require = createRequire(import.meta.url);

function prettyStream(destination: NodeJS.WritableStream): DestinationStream {
  // Loaded only for a terminal: a JSON log (and every command whose output is piped) skips it.
  const pretty = require("pino-pretty") as typeof import("pino-pretty");
  const build = (pretty as unknown as { default?: typeof pretty }).default ?? pretty;
  return build({
    destination,
    sync: true,
    colorize: (destination as NodeJS.WriteStream).hasColors?.() ?? false,
    translateTime: "SYS:HH:MM:ss",
    ignore: "pid,hostname",
    singleLine: true,
  });
}

/**
 * A logger writing to `destination` (`herald start`: standard output; other commands: standard
 * error, since their standard output is their result).
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  const options = {
    level,
    base: undefined,
    redact: ["secret", "*.secret", "apiToken", "headers.authorization", "password"],
  };
  if (logFormat(destination as NodeJS.WriteStream) === "pretty") return pino(options, prettyStream(destination));
  return pino(options, destination as DestinationStream);
}

export const silentLogger: Logger = pino({ level: "silent" });
