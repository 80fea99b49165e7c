import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT } from "../helpers/cli.ts";

describe("docker-compose.yml", () => {
  const compose = parse(readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"), { merge: true });

  type Service = { profiles?: string[]; restart?: string; environment?: Record<string, string>; command?: unknown; depends_on?: Record<string, unknown>; ports?: string[] };
  const services = compose.services as Record<string, Service>;
  const inProfile = (p: string) => Object.entries(services).filter(([, s]) => s.profiles?.includes(p)).map(([name]) => name).sort();

  it("names redis, mailpit, herald-web and herald-worker (the default stack, no profile)", () => {
    expect(Object.entries(services).filter(([, s]) => !s.profiles).map(([name]) => name).sort()).toEqual(["herald-web", "herald-worker", "mailpit", "redis"]);
  });

  it("has a cluster profile: three masters, the one-shot that joins them, Herald with a hash-tag prefix", () => {
    expect(inProfile("cluster")).toEqual(["herald-cluster-web", "herald-cluster-worker", "redis-cluster-1", "redis-cluster-2", "redis-cluster-3", "redis-cluster-init"]);
    const env = services["herald-cluster-worker"]!.environment!;
    expect(env.REDIS_CLUSTER_NODES).toBe("redis-cluster-1:6379,redis-cluster-2:6379,redis-cluster-3:6379");
    expect(env.HERALD_PREFIX).toBe("{herald}");
    expect(env.REDIS_URL).toBeUndefined();
    expect(JSON.stringify(services["redis-cluster-1"]!.command)).toContain("--cluster-enabled yes");
    expect(JSON.stringify(services["redis-cluster-1"]!.command)).toContain("--maxmemory-policy noeviction");
    expect(JSON.stringify(services["redis-cluster-init"]!.command)).toContain("--cluster create");
    expect(services["herald-cluster-web"]!.ports).toEqual(["127.0.0.1:3001:3000"]);
  });

  it("has a sentinel profile: primary, replica, three Sentinels, Herald asking them", () => {
    expect(inProfile("sentinel")).toEqual(["herald-sentinel-web", "herald-sentinel-worker", "redis-primary", "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"]);
    const env = services["herald-sentinel-web"]!.environment!;
    expect(env.REDIS_SENTINELS).toBe("sentinel-1:26379,sentinel-2:26379,sentinel-3:26379");
    expect(env.REDIS_SENTINEL_NAME).toBe("herald");
    expect(JSON.stringify(services["sentinel-1"]!.command)).toContain("sentinel monitor herald redis-primary 6379 2");
    expect(JSON.stringify(services["redis-replica"]!.command)).toContain('"--replicaof","redis-primary","6379"');
  });

  it("runs Redis with AOF everysec, noeviction and a volume", () => {
    const cmd = compose.services.redis.command.join(" ");
    expect(cmd).toContain("--appendonly yes");
    expect(cmd).toContain("--appendfsync everysec");
    expect(cmd).toContain("--maxmemory-policy noeviction");
    expect(compose.services.redis.volumes[0]).toMatch(/:\/data$/);
  });

  it("gives every service a restart policy and the herald services healthchecks", () => {
    // Every long-running service restarts; the cluster's one-shot join restarts only on failure.
    for (const [name, s] of Object.entries(services)) expect(s.restart, name).toBe(name === "redis-cluster-init" ? "on-failure" : "unless-stopped");
    expect(compose.services["herald-web"].healthcheck.test.join(" ")).toContain("/readyz");
    expect(compose.services["herald-worker"].command).toEqual(["start", "--workers-only", "--strict"]);
    expect(compose.services["herald-worker"].environment.REDIS_URL).toBe("redis://redis:6379");
    expect(compose.services["herald-worker"].environment.NODE_OPTIONS).toBe("--max-old-space-size=256");
    expect(compose.services.mailpit.ports).toEqual(expect.arrayContaining(["8025:8025", "1025:1025"]));
  });

  it("has a multi-stage Dockerfile running as a non-root user", () => {
    const docker = readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
    expect(docker.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(docker).toMatch(/^USER herald$/m);
  });
});
