import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseSentinelUrl } from "../../src/config/index.ts";
import { describeTarget } from "../../src/redis/connection.ts";
import { keyPatterns, queuePrefix } from "../../src/runtime.ts";

const fails = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
};

describe("Redis Cluster configuration", () => {
  it("reads seed nodes (IPv6 in brackets) and wants a hash-tag prefix", () => {
    const c = loadConfig({
      REDIS_CLUSTER_NODES: " 10.0.0.1:7000, redis-b:7001,[::1]:7002 ",
      HERALD_PREFIX: "{herald}",
      REDIS_PASSWORD: "s3cret",
      REDIS_TLS: "true",
    });
    expect(c.redisUrl).toBeUndefined();
    expect(c.redisHa).toEqual({
      mode: "cluster",
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "redis-b", port: 7001 },
        { host: "::1", port: 7002 },
      ],
      auth: { username: undefined, password: "s3cret" },
      tls: true,
    });
    expect(describeTarget(c.redisHa!)).toBe("Redis Cluster 10.0.0.1:7000,redis-b:7001,[::1]:7002 (TLS)");
  });

  it("refuses a prefix without a hash tag, or with one that is not the whole prefix", () => {
    for (const prefix of ["herald", "her{ald}", "{herald}x", "{}"]) {
      expect(fails({ REDIS_CLUSTER_NODES: "a:7000", HERALD_PREFIX: prefix })).toMatch(
        /HERALD_PREFIX=.*REDIS_CLUSTER_NODES.*hash tag such as \{herald\}/,
      );
    }
    expect(fails({ REDIS_CLUSTER_NODES: "a:7000" })).toMatch(/HERALD_PREFIX="herald"/);
  });

  it("names bad node lists", () => {
    expect(fails({ REDIS_CLUSTER_NODES: "a", HERALD_PREFIX: "{h}" })).toMatch(
      /REDIS_CLUSTER_NODES="a" is not allowed: a comma-separated list of host:port/,
    );
    expect(fails({ REDIS_CLUSTER_NODES: "a:70000", HERALD_PREFIX: "{h}" })).toMatch(/REDIS_CLUSTER_NODES/);
    expect(fails({ REDIS_CLUSTER_NODES: "redis://a:7000", HERALD_PREFIX: "{h}" })).toMatch(/REDIS_CLUSTER_NODES/);
    expect(fails({ REDIS_CLUSTER_NODES: ",", HERALD_PREFIX: "{h}" })).toMatch(/REDIS_CLUSTER_NODES/);
  });

  it("puts each queue on its own hash tag, and lists patterns that find them", () => {
    expect(queuePrefix("{herald}", "emails", true)).toBe("{herald:q:emails}");
    expect(queuePrefix("{herald}", "emails", false)).toBe("{herald}:q");
    expect(queuePrefix("herald", "emails")).toBe("herald:q");
    expect(keyPatterns("{herald}", true)).toEqual(["{herald}:*", "{herald:q:*"]);
  });
});

describe("Redis Sentinel configuration", () => {
  it("REDIS_SENTINELS + REDIS_SENTINEL_NAME, Sentinel port 26379 by default, separate credentials", () => {
    const c = loadConfig({
      REDIS_SENTINELS: "s1,s2:26380",
      REDIS_SENTINEL_NAME: "mymaster",
      REDIS_PASSWORD: "p",
      REDIS_SENTINEL_PASSWORD: "sp",
    });
    expect(c.redisHa).toEqual({
      mode: "sentinel",
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26380 },
      ],
      name: "mymaster",
      db: 0,
      auth: { username: undefined, password: "p" },
      sentinelAuth: { username: undefined, password: "sp" },
      tls: false,
    });
    expect(fails({ REDIS_SENTINELS: "s1" })).toMatch(/REDIS_SENTINELS needs REDIS_SENTINEL_NAME/);
    expect(fails({ REDIS_SENTINEL_NAME: "m" })).toMatch(/REDIS_SENTINEL_NAME needs REDIS_SENTINELS/);
    expect(fails({ REDIS_SENTINEL_PASSWORD: "x", REDIS_URL: "redis://h:6379" })).toMatch(/apply to Sentinels only/);
  });

  it("reads redis+sentinel:// and rediss+sentinel:// URLs", () => {
    const c = loadConfig({ REDIS_URL: "rediss+sentinel://app:p%40ss@s1:26379,s2/mymaster/2" });
    expect(c.redisUrl).toBeUndefined();
    expect(c.redisHa).toMatchObject({
      mode: "sentinel",
      name: "mymaster",
      db: 2,
      tls: true,
      auth: { username: "app", password: "p@ss" },
    });
    expect(parseSentinelUrl("redis+sentinel://:pw@s1/m")).toMatchObject({
      password: "pw",
      username: undefined,
      db: 0,
      tls: false,
    });
    expect(parseSentinelUrl("redis+sentinel://pw@s1/m")).toMatchObject({ password: "pw", username: undefined });
    expect(describeTarget(c.redisHa!)).toBe('Sentinel-watched primary "mymaster" via s1:26379,s2:26379 (TLS)');
  });

  it("a bad sentinel URL is named without its password", () => {
    for (const url of [
      "redis+sentinel://:topsecret@s1",
      "redis+sentinel://:topsecret@s1:99999/m",
      "redis+sentinel://:topsecret@/m",
      "redis+sentinel://:topsecret@s1/m/99",
      "redis+sentinel://:top/secret@s1/1",
      "redis+sentinel://:top@secret@s1/m/x",
    ]) {
      const msg = fails({ REDIS_URL: url });
      expect(msg).toMatch(/REDIS_URL=/);
      expect(msg).not.toMatch(/topsecret|secret@|:top/);
    }
  });
});

describe("one way to reach Redis, and secrets never echoed", () => {
  it("refuses two ways at once", () => {
    expect(fails({ REDIS_URL: "redis://a:6379", REDIS_CLUSTER_NODES: "b:7000", HERALD_PREFIX: "{h}" })).toMatch(
      /REDIS_URL and REDIS_CLUSTER_NODES exclude each other/,
    );
    expect(
      fails({ REDIS_SENTINELS: "s", REDIS_SENTINEL_NAME: "m", REDIS_CLUSTER_NODES: "b:7000", HERALD_PREFIX: "{h}" }),
    ).toMatch(/exclude each other/);
    expect(fails({ REDIS_URL: "redis+sentinel://s/m", REDIS_SENTINELS: "s", REDIS_SENTINEL_NAME: "m" })).toMatch(
      /exclude each other/,
    );
  });

  it("folds REDIS_USERNAME, REDIS_PASSWORD and REDIS_TLS into a single Redis URL", () => {
    const c = loadConfig({
      REDIS_URL: "redis://cache:6380/2",
      REDIS_USERNAME: "herald",
      REDIS_PASSWORD: "p@ss word",
      REDIS_TLS: "yes",
    });
    expect(c.redisUrl).toBe("rediss://herald:p%40ss%20word@cache:6380/2");
    expect(describeTarget(c.redisUrl!)).not.toContain("p%40ss");
    expect(loadConfig({ REDIS_URL: "redis://cache:6380" }).redisUrl).toBe("redis://cache:6380");
    expect(fails({ REDIS_URL: "rediss://cache", REDIS_TLS: "false" })).toMatch(/REDIS_TLS=false contradicts/);
    expect(fails({ REDIS_TLS: "maybe", REDIS_URL: "redis://x" })).toMatch(
      /REDIS_TLS="maybe" is not allowed: true or false/,
    );
    expect(fails({ REDIS_PASSWORD: "x" })).toMatch(/need REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS/);
  });

  it("never shows a password in an error", () => {
    expect(fails({ REDIS_URL: "ftp://u:hunter2@x" })).not.toContain("hunter2");
    expect(fails({ REDIS_URL: "ftp://u:hun/ter@2@x" })).not.toMatch(/hun|ter@|@2/);
    expect(fails({ REDIS_URL: "ftp://u:hunter2@x" })).toMatch(/REDIS_URL="ftp:\/\/\(hidden\)@x"/);
    expect(fails({ SECRET_KEY: "short-secret" })).toMatch(/SECRET_KEY=\(hidden\) is not allowed/);
  });

  it("SHUTDOWN_TIMEOUT_MS: 25 s by default, a whole number of ms", () => {
    expect(loadConfig({}).shutdownTimeoutMs).toBe(25_000);
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: "5000" }).shutdownTimeoutMs).toBe(5000);
    expect(fails({ SHUTDOWN_TIMEOUT_MS: "soon" })).toMatch(/SHUTDOWN_TIMEOUT_MS="soon" is not allowed: a whole number/);
  });
});
