import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT } from "../helpers/cli.ts";

describe("docker-compose.yml", () => {
  const compose = parse(readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"), { merge: true });

  it("names redis, mailpit, herald-web and herald-worker", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["herald-web", "herald-worker", "mailpit", "redis"]);
  });

  it("runs Redis with AOF everysec, noeviction and a volume", () => {
    const cmd = compose.services.redis.command.join(" ");
    expect(cmd).toContain("--appendonly yes");
    expect(cmd).toContain("--appendfsync everysec");
    expect(cmd).toContain("--maxmemory-policy noeviction");
    expect(compose.services.redis.volumes[0]).toMatch(/:\/data$/);
  });

  it("gives every service a restart policy and the herald services healthchecks", () => {
    for (const s of Object.values(compose.services) as { restart?: string }[]) expect(s.restart).toBe("unless-stopped");
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
