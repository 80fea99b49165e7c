import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/redis/embedded.ts";
import { runCli, startCli, stopCli } from "../helpers/cli.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { deletePrefix, eventually, redisUrl, uniquePrefix } from "../helpers/runtime.ts";

const prefix = uniquePrefix("cli");
const varDir = mkdtempSync(path.join(tmpdir(), "herald-cli-"));
afterAll(async () => {
  await deletePrefix(prefix);
  rmSync(varDir, { recursive: true, force: true });
});

describe("herald start", { timeout: 90_000 }, () => {
  it("serves the API, fans out a published release, shows it in status and stops on SIGTERM", async () => {
    const port = await freePort();
    const env = {
      REDIS_URL: redisUrl(),
      HERALD_PREFIX: prefix,
      PORT: String(port),
      VAR_DIR: varDir,
      OUTBOX_DIR: path.join(varDir, "outbox"),
      LOG_LEVEL: "info",
    };
    const { child, output } = await startCli(["start"], env, /listening on/);
    try {
      // No API_TOKEN: one was generated into var/ and its path printed.
      const tokenFile = path.join(varDir, "api-token");
      expect(existsSync(tokenFile)).toBe(true);
      expect(output()).toContain(tokenFile);
      const token = readFileSync(tokenFile, "utf8").trim();

      const res = await fetch(`http://127.0.0.1:${port}/api/releases`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(sampleRelease({ id: "cli-start" })),
      });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ id: "cli-start", revision: 1 });

      const status = await eventually(
        async () => {
          const r = await runCli(["status", "--json"], env);
          const s = JSON.parse(r.stdout);
          return s.queues["release-events"].completed === 1 ? s : null;
        },
        15_000,
        "the release event to be processed",
      );
      expect(status.releases).toBe(1);
      const fannedOut = (q: string) =>
        Object.values(status.queues[q] as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(fannedOut("feeds")).toBeGreaterThan(0);
      expect(fannedOut("alerts")).toBe(1);
      expect(fannedOut("partners")).toBe(1);

      const human = await runCli(["status"], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/release-events\s+\d+\s+\d+\s+\d+\s+\d+\s+1/);
    } finally {
      expect(await stopCli(child)).toBe(0);
    }
  });

  it("refuses a bad configuration with one line naming the variable", async () => {
    const r = await runCli(["status"], { PORT: "not-a-port", REDIS_URL: redisUrl() });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/PORT="not-a-port" is not allowed/);
  });

  it("refuses --web-only with --workers-only", async () => {
    const r = await runCli(["start", "--web-only", "--workers-only"], { REDIS_URL: redisUrl(), HERALD_PREFIX: prefix });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exclude each other/);
  });
});
