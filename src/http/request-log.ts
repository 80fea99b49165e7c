// Each request's logger, made on first use. Fastify gives every request a child logger bound to
// its id; pino takes microseconds to build one (bindings serialised, redaction set up), which was
// the largest single cost of a feed poll answered 304: it halved the throughput. Request lines
// are off, so most requests never log, and their child is never built. A request that does log
// gets exactly the line Fastify's own child would have written, reqId included.
import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions } from "pino";

type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

class LazyChildLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  // Methods on the prototype, not arrow fields: a logger is made per request, so it allocates
  // nothing but itself.
  fatal(...args: unknown[]): void {
    this.call("fatal", args);
  }
  error(...args: unknown[]): void {
    this.call("error", args);
  }
  warn(...args: unknown[]): void {
    this.call("warn", args);
  }
  info(...args: unknown[]): void {
    this.call("info", args);
  }
  debug(...args: unknown[]): void {
    this.call("debug", args);
  }
  trace(...args: unknown[]): void {
    this.call("trace", args);
  }
  silent(...args: unknown[]): void {
    this.call("silent", args);
  }

  private call(level: LogLevel, args: unknown[]): void {
    const real = this.real;
    (real[level] as (...a: unknown[]) => void).apply(real, args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory` option. */
export function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options);
}
