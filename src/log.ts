// One pino logger. Secrets never reach it: the redact list covers the fields that could carry them.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: ["secret", "*.secret", "apiToken", "headers.authorization", "password"],
    },
    destination,
  );
}

export const silentLogger: Logger = pino({ level: "silent" });
