import { describe, expect, it } from "vitest";
import { nonPublicRange, resolveDestination } from "../../src/partners/ssrf.ts";
import { parseRetryAfter, partnerBackoff, DeliveryError } from "../../src/partners/backoff.ts";

describe("SSRF guard: address ranges", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "linkLocal"],
    ["fe80::1", "linkLocal"],
    ["fd00:ec2::254", "uniqueLocal"],
    ["100.64.0.1", "carrierGradeNat"],
    ["100.100.100.200", "carrierGradeNat"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["64:ff9b::7f00:1", "rfc6052"],
    ["::7f00:1", "not global unicast"],
  ])("%s is refused (%s)", (ip, why) => {
    expect(nonPublicRange(ip)).toBe(why);
  });

  it.each(["93.184.216.34", "8.8.8.8", "2606:4700::1111", "[2606:4700::1111]"])("%s is public", (ip) => {
    expect(nonPublicRange(ip)).toBeNull();
  });
});

describe("SSRF guard: URLs", () => {
  const noDns = async () => {
    throw new Error("no DNS in this test");
  };
  it.each([
    "https://0x7f.1/hook",
    "https://2130706433/hook",
    "https://017700000001/hook",
    "https://127.1/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::1]:8443/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://0/",
  ])("refuses the numeric trick %s", async (url) => {
    await expect(resolveDestination(url, false, noDns)).rejects.toMatchObject({
      code: "HERALD_UNSAFE_URL",
      status: 400,
    });
  });

  it("refuses a name that resolves to an inside address, even mixed with a public one", async () => {
    const dns = async () => [
      { address: "93.184.216.34", family: 4 },
      { address: "10.0.0.5", family: 4 },
    ];
    await expect(resolveDestination("https://partner.example/", false, dns)).rejects.toThrow(
      /resolves to 10\.0\.0\.5, private/,
    );
  });

  it("real DNS: localhost is loopback", async () => {
    await expect(resolveDestination("https://localhost:9/x", false)).rejects.toThrow(
      /localhost resolves to .*loopback/,
    );
  });

  it("returns the checked address to connect to", async () => {
    const dns = async () => [{ address: "93.184.216.34", family: 4 }];
    const d = await resolveDestination("https://partner.example:8443/in?x=1", false, dns);
    expect(d).toMatchObject({ address: "93.184.216.34", family: 4 });
    expect(d.url.host).toBe("partner.example:8443");
  });

  it("wants https without credentials; http and private only with allowPrivate", async () => {
    await expect(resolveDestination("http://93.184.216.34/", false, noDns)).rejects.toThrow(/https/);
    await expect(resolveDestination("ftp://93.184.216.34/", true, noDns)).rejects.toThrow(/https/);
    await expect(resolveDestination("https://user:pw@93.184.216.34/", false, noDns)).rejects.toThrow(/password/);
    await expect(resolveDestination("http://127.0.0.1:8080/", true, noDns)).resolves.toMatchObject({
      address: "127.0.0.1",
    });
  });
});

describe("retry schedule", () => {
  const schedule = [0, 5_000, 300_000, 1_800_000];
  const mid = () => 0.5; // no jitter
  it("follows the schedule: after attempt n, wait schedule[n] (±20 % jitter)", () => {
    const b = partnerBackoff(schedule, mid);
    expect([1, 2, 3].map((n) => b(n, "partner", new Error("x")))).toEqual([5_000, 300_000, 1_800_000]);
    expect(partnerBackoff(schedule, () => 0)(1, "partner")).toBe(4_000);
    expect(partnerBackoff(schedule, () => 1)(1, "partner")).toBe(6_000);
  });

  it("Retry-After is a floor, never undercut", () => {
    const b = partnerBackoff(schedule, () => 0);
    expect(b(1, "partner", new DeliveryError("429", 429, 60_000))).toBe(60_000);
    expect(b(2, "partner", new DeliveryError("429", 429, 1_000))).toBe(240_000);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-11-28T10:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("Sat, 28 Nov 2026 10:01:00 GMT", now)).toBe(60_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
