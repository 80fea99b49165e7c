import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import semver from "semver";
import { parse } from "yaml";
import { ROOT } from "../helpers/cli.ts";

describe("docker-compose.yml", () => {
  const compose = parse(readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"), { merge: true });

  type Service = {
    profiles?: string[];
    restart?: string;
    environment?: Record<string, string>;
    command?: unknown;
    depends_on?: Record<string, unknown>;
    ports?: string[];
  };
  const services = compose.services as Record<string, Service>;
  const inProfile = (p: string) =>
    Object.entries(services)
      .filter(([, s]) => s.profiles?.includes(p))
      .map(([name]) => name)
      .sort();

  it("names redis, mailpit, herald-web and herald-worker (the default stack, no profile)", () => {
    expect(
      Object.entries(services)
        .filter(([, s]) => !s.profiles)
        .map(([name]) => name)
        .sort(),
    ).toEqual(["herald-web", "herald-worker", "mailpit", "redis"]);
  });

  it("has a cluster profile: three masters, the one-shot that joins them, Herald with a hash-tag prefix", () => {
    expect(inProfile("cluster")).toEqual([
      "herald-cluster-web",
      "herald-cluster-worker",
      "redis-cluster-1",
      "redis-cluster-2",
      "redis-cluster-3",
      "redis-cluster-init",
    ]);
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
    expect(inProfile("sentinel")).toEqual([
      "herald-sentinel-web",
      "herald-sentinel-worker",
      "redis-primary",
      "redis-replica",
      "sentinel-1",
      "sentinel-2",
      "sentinel-3",
    ]);
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
    for (const [name, s] of Object.entries(services))
      expect(s.restart, name).toBe(name === "redis-cluster-init" ? "on-failure" : "unless-stopped");
    expect(compose.services["herald-web"].healthcheck.test.join(" ")).toContain("/readyz");
    // A worker-only container serves no HTTP: its healthcheck must not ask for /readyz.
    expect(compose.services["herald-worker"].healthcheck.test.join(" ")).not.toContain("readyz");
    expect(compose.services["herald-worker"].healthcheck.test).toEqual([
      "CMD",
      "node",
      "bin/herald.js",
      "healthcheck",
      "--workers",
    ]);
    expect(compose.services["herald-worker"].command).toEqual(["start", "--workers-only", "--strict"]);
    expect(compose.services["herald-worker"].environment.REDIS_URL).toBe("redis://redis:6379");
    // No heap flag (WORKER_HEAP_GROWTH_PERCENT bounds the heap); glibc's arenas kept to two.
    expect(compose.services["herald-worker"].environment.NODE_OPTIONS).toBeUndefined();
    expect(compose.services["herald-worker"].environment.MALLOC_ARENA_MAX).toBe("2");
    expect(compose.services.mailpit.ports).toEqual(["127.0.0.1:8025:8025", "127.0.0.1:1025:1025"]);
  });

  it("publishes nothing but Herald's own HTTP port beyond 127.0.0.1 (Mailpit, Redis: this machine only)", () => {
    for (const [name, svc] of Object.entries(compose.services) as [
      string,
      { ports?: (string | { host_ip?: string; published?: string })[] },
    ][]) {
      for (const port of svc.ports ?? []) {
        if (name === "herald-web") continue;
        const hostIp =
          typeof port === "string" ? (port.split(":").length === 3 ? port.split(":")[0] : undefined) : port.host_ip;
        expect(hostIp, `${name} publishes ${JSON.stringify(port)}`).toBe("127.0.0.1");
      }
    }
    expect(compose.services["herald-web"].ports).toEqual(["3000:3000"]);
  });

  it("pins every third-party image to a version (no latest, no bare major)", () => {
    for (const [name, svc] of Object.entries(compose.services) as [string, { image?: string; build?: unknown }][]) {
      if (name.startsWith("herald-")) continue;
      expect(svc.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+[\w.-]*$/);
      expect(svc.image, name).not.toMatch(/:latest$/);
    }
  });

  it("builds the Herald image once and runs both roles from it", () => {
    const herald = Object.entries(compose.services).filter(([name]) => name.startsWith("herald-")) as [
      string,
      { image?: string; build?: unknown },
    ][];
    expect(herald.filter(([, s]) => s.build !== undefined).map(([n]) => n)).toEqual(["herald-web"]);
    const images = new Set(herald.map(([, s]) => s.image));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(/^herald:/);
  });

  it("keeps .env (secrets) and local state out of the build context", () => {
    const ignored = readFileSync(path.join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim());
    for (const entry of [".env", "node_modules", "var", "dist", ".git"]) expect(ignored).toContain(entry);
  });

  it("has a multi-stage Dockerfile running as a non-root user", () => {
    const docker = readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
    expect(docker.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(docker).toMatch(/^USER herald$/m);
  });

  describe("Dockerfile stages", () => {
    const lines = readFileSync(path.join(ROOT, "Dockerfile"), "utf8")
      .replace(/\\\n/g, " ")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    const stages: { base: string; name?: string; lines: string[] }[] = [];
    for (const line of lines) {
      const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
      if (from) stages.push({ base: from[1]!, name: from[2], lines: [] });
      else {
        expect(stages.length, `instruction before FROM: ${line}`).toBeGreaterThan(0);
        stages.at(-1)!.lines.push(line);
      }
    }
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));

    it("uses only known instructions", () => {
      for (const s of stages)
        for (const l of s.lines)
          expect(l.split(/\s/)[0]).toMatch(/^(WORKDIR|COPY|RUN|ENV|USER|EXPOSE|HEALTHCHECK|ENTRYPOINT|CMD|ARG|LABEL)$/);
    });

    it("runs on the current Node LTS in every stage (Node 26), a version package.json's engines accept", () => {
      for (const s of stages) expect(s.base).toMatch(/^node:26(-|$)/);
      expect(semver.satisfies("24.0.0", pkg.engines.node)).toBe(true);
    });

    it("copies only files that exist, from stages that exist", () => {
      const names = new Set(stages.map((s) => s.name).filter(Boolean));
      const built = new Set(["node_modules", "dist"]); // made by RUN npm ci in the stages
      for (const s of stages) {
        for (const l of s.lines.filter((x) => x.startsWith("COPY "))) {
          const parts = l.split(/\s+/).slice(1);
          const fromStage = parts.find((p) => p.startsWith("--from="))?.slice("--from=".length);
          const sources = parts.filter((p) => !p.startsWith("--")).slice(0, -1);
          if (fromStage) {
            expect(names.has(fromStage), l).toBe(true);
            for (const src of sources) expect(built.has(path.basename(src)), l).toBe(true);
          } else {
            for (const src of sources) expect(existsSync(path.join(ROOT, src)), `${l}: ${src}`).toBe(true);
          }
        }
      }
    });

    it("builds dist/ with the dev dependencies, ships production dependencies without them", () => {
      const build = stages.find((s) => s.name === "build")!;
      expect(build.lines).toContain("RUN npm ci --no-audit --no-fund");
      expect(pkg.scripts.prepare).toBe("npm run build");
      for (const f of ["tsconfig.build.json", "src"])
        expect(build.lines.some((l) => l.startsWith("COPY ") && l.includes(f))).toBe(true);
      const deps = stages.find((s) => s.name === "deps")!;
      expect(deps.lines.join("\n")).toMatch(/npm ci --omit=dev --ignore-scripts/);
      const final = stages.at(-1)!;
      expect(final.lines).toContain("COPY --from=build /app/dist ./dist");
      expect(final.lines).toContain("COPY --from=deps /app/node_modules ./node_modules");
      expect(final.lines.find((l) => l.startsWith("ENTRYPOINT"))).toBe('ENTRYPOINT ["node", "bin/herald.js"]');
    });

    it("checks health with a command every role answers, not /readyz", () => {
      const hc = stages.at(-1)!.lines.find((l) => l.startsWith("HEALTHCHECK"))!;
      expect(hc).not.toContain("readyz");
      expect(hc).toContain('"bin/herald.js", "healthcheck"');
    });
  });
});
