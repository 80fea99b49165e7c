import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.ts";

describe("TRUST_PROXY", () => {
  it("is off by default", () => {
    expect(loadConfig({}).trustProxy).toBe(false);
  });

  it.each([
    ["false", false],
    ["0", false],
    ["true", true],
    ["TRUE", true],
    ["2", 2],
    ["10.0.0.0/8", ["10.0.0.0/8"]],
    ["10.0.0.0/8, 127.0.0.1,::1 ,fd00::/8", ["10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8"]],
    ["loopback,uniquelocal", ["loopback", "uniquelocal"]],
  ] as const)("%s", (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each(["yes", "10.0.0.0/33", "10.0.0.300", "example.org", "1,2", "-1", "101", "10.0.0.0/8,,nope"])(
    "refuses %s, naming the variable and what is allowed",
    (value) => {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(
        /TRUST_PROXY=.* is not allowed: false \(the default\), true, a hop count/,
      );
    },
  );
});

describe("limits and timeouts", () => {
  it("have defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      authMaxFailures: 10,
      authFailureWindowS: 900,
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      connectionTimeoutMs: 60_000,
      keepAliveTimeoutMs: 72_000,
      maxRequestsPerSocket: 0,
    });
    expect(c.metricsToken).toBeUndefined();
  });

  it("refuse bad values with the variable's name", () => {
    expect(() => loadConfig({ AUTH_MAX_FAILURES: "0" })).toThrow(/AUTH_MAX_FAILURES="0" is not allowed: at least 1/);
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: "soon" })).toThrow(/REQUEST_TIMEOUT_MS="soon" is not allowed/);
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: "5000", HEADERS_TIMEOUT_MS: "8000" })).toThrow(
      /HEADERS_TIMEOUT_MS=8000 is not allowed: at most REQUEST_TIMEOUT_MS/,
    );
  });

  it("never echo a secret in an error", () => {
    let message = "";
    try {
      loadConfig({ METRICS_TOKEN: "short-secret", API_TOKEN: "tiny-api-tok" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/METRICS_TOKEN=\(hidden\) is not allowed: at least 16 characters/);
    expect(message).toMatch(/API_TOKEN=\(hidden\)/);
    expect(message).not.toContain("short-secret");
    expect(message).not.toContain("tiny-api-tok");
  });
});
