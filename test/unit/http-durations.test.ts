// The hand-kept request-duration histogram must read exactly as prom-client's own Histogram
// would for the same observations, and the per-request logger must log like Fastify's child.
import { Writable } from "node:stream";
import { pino } from "pino";
import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { DURATION_BUCKETS, RequestDurations } from "../../src/http/durations.ts";
import { lazyChildLogger } from "../../src/http/request-log.ts";
import { parsePrometheus, sampleValue } from "../helpers/prometheus.ts";

const OBSERVATIONS: [string, string, number, number][] = [
  ["GET", "/feeds/:file", 304, 0.0002],
  ["GET", "/feeds/:file", 304, 0.001], // exactly on a bound: counted in that bucket
  ["GET", "/feeds/:file", 200, 0.003],
  ["HEAD", "/feeds/:file", 200, 0.0007],
  ["POST", "/api/releases", 202, 0.04],
  ["POST", "/api/releases", 400, 7], // above every bound: only +Inf
  ["GET", "/feeds/:kind/:value/:file", 304, 0.26],
  ["GET", "unmatched", 404, 0.000_01],
];

describe("RequestDurations", () => {
  it("exposes the same text as a prom-client Histogram fed the same observations", async () => {
    const ours = new Registry();
    const durations = new RequestDurations();
    durations.register(ours);
    const theirs = new Registry();
    const reference = new Histogram({
      name: "herald_http_request_duration_seconds",
      help: "HTTP request durations, by method, route and status code",
      labelNames: ["method", "route", "status_code"],
      buckets: [...DURATION_BUCKETS],
      registers: [theirs],
    });
    for (const [method, route, status, seconds] of OBSERVATIONS) {
      durations.observe(method, route, status, seconds);
      reference.observe({ method, route, status_code: String(status) }, seconds);
    }
    const sorted = (text: string) => text.split("\n").sort().join("\n");
    expect(sorted(await ours.metrics())).toBe(sorted(await theirs.metrics()));

    const samples = parsePrometheus(await ours.metrics());
    const feed304 = { method: "GET", route: "/feeds/:file", status_code: "304" };
    expect(sampleValue(samples, "herald_http_request_duration_seconds_count", feed304)).toBe(2);
    expect(sampleValue(samples, "herald_http_request_duration_seconds_bucket", { ...feed304, le: "0.001" })).toBe(2);
    expect(
      sampleValue(samples, "herald_http_request_duration_seconds_bucket", {
        method: "POST",
        status_code: "400",
        le: "2.5",
      }),
    ).toBe(0);
    expect(
      sampleValue(samples, "herald_http_request_duration_seconds_bucket", {
        method: "POST",
        status_code: "400",
        le: "+Inf",
      }),
    ).toBe(1);
  });

  it("reset empties every series", async () => {
    const registry = new Registry();
    const durations = new RequestDurations();
    durations.register(registry);
    durations.observe("GET", "/metrics", 200, 0.01);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain("_count");
  });
});

describe("lazyChildLogger", () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    return { lines, logger: pino({ level: "info", base: undefined }, stream) };
  }

  it("builds the child only when something logs, and then logs with its bindings", async () => {
    const { lines, logger } = capture();
    let made = 0;
    const parent = new Proxy(logger, {
      get(target, prop, receiver) {
        if (prop === "child") {
          return (...args: Parameters<typeof logger.child>) => {
            made++;
            return target.child(...args);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const quiet = lazyChildLogger(parent, { reqId: "req-1" }, {});
    expect(quiet.level).toBe("info");
    expect(made).toBe(0);

    const loud = lazyChildLogger(parent, { reqId: "req-2" }, {});
    loud.debug("below the level"); // still builds the child, which drops the line
    loud.error({ err: new Error("boom") }, "request failed");
    loud.info("second line");
    loud.child({ step: "x" }).warn("from a grandchild");
    await new Promise((r) => setImmediate(r));
    expect(made).toBe(1);
    expect(lines.map((l) => [l.reqId, l.msg])).toEqual([
      ["req-2", "request failed"],
      ["req-2", "second line"],
      ["req-2", "from a grandchild"],
    ]);
    expect((lines[0]!.err as { message: string }).message).toBe("boom");
    expect(lines[2]!.step).toBe("x");
  });

  it("honours a per-route level passed in the options", () => {
    const { lines, logger } = capture();
    const child = lazyChildLogger(logger, { reqId: "req-3" }, { level: "warn" });
    expect(child.level).toBe("warn");
    child.info("dropped");
    child.warn("kept");
    return new Promise<void>((r) =>
      setImmediate(() => {
        expect(lines.map((l) => l.msg)).toEqual(["kept"]);
        r();
      }),
    );
  });
});
