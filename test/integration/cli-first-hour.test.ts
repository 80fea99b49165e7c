// Issue 14 through the real command: --version, --help with examples, EPIPE, jobs list, waits that
// end when no worker runs, workers in status, healthcheck, a busy port, the start-up lines and
// PUBLIC_URL following PORT, .env.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { startWorkers, type Workers } from "../../src/jobs/workers.ts";
import { freePort } from "../../src/redis/embedded.ts";
import { HERALD_ARGS, ROOT, runCli, startCli, stopCli } from "../helpers/cli.ts";
import { redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

const dir = mkdtempSync(path.join(tmpdir(), "herald-first-hour-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let rt: TestRuntime;
let env: Record<string, string>;
let workers: Workers | null = null;
beforeEach(async () => {
  rt = await testRuntime({ label: "firsthour" });
  env = {
    REDIS_URL: redisUrl(),
    HERALD_PREFIX: rt.config.prefix,
    VAR_DIR: path.join(dir, "var"),
    OUTBOX_DIR: path.join(dir, "outbox"),
  };
});
afterEach(async () => {
  await workers?.close();
  workers = null;
  await rt.destroy();
});

describe("herald --version and --help", { timeout: 60_000 }, () => {
  it("prints the package version, and help with examples", async () => {
    const v = await runCli(["--version"], {});
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    const h = await runCli(["--help"], {});
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("Examples:");
    expect(h.stdout).toMatch(/jobs list feeds --state failed/);
    const sub = await runCli(["jobs", "list", "--help"], {});
    expect(sub.stdout).toContain("npx herald jobs list partners --state failed");
    const unknown = await runCli(["frobnicate"], {});
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.split("\n")[0]).toMatch(/^herald: unknown command 'frobnicate'/);
  });
});

describe("a reader that stops reading", { timeout: 90_000 }, () => {
  it("`herald subscribers list | head -1` exits quietly (no EPIPE stack trace)", async () => {
    const csv = ["email,name", ...Array.from({ length: 400 }, (_, i) => `reader${i}@example.org,Reader ${i}`)].join(
      "\n",
    );
    writeFileSync(path.join(dir, "many.csv"), csv);
    expect((await runCli(["subscribers", "import", path.join(dir, "many.csv")], env)).code).toBe(0);
    const script = `set -o pipefail; "${process.execPath}" ${HERALD_ARGS.map((a) => `"${a}"`).join(" ")} subscribers list --json | head -1`;
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn("bash", ["-c", script], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", HERALD_ENV_FILE: "off", ...env },
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => {
          out += d;
        });
        child.stderr.on("data", (d) => {
          err += d;
        });
        child.on("exit", (c) => resolve({ code: c, stdout: out, stderr: err }));
      },
    );
    expect(stdout.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(stdout).email).toMatch(/@example\.org$/);
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});

describe("jobs list", { timeout: 60_000 }, () => {
  it("shows job ids to use with jobs show, filtered by state; a bad state or queue is one line", async () => {
    await rt.queues.feeds.add("rebuild", { feed: "*", cause: "test" }, { jobId: "rebuild-all-123" });
    const r = await runCli(["jobs", "list", "feeds", "--state", "waiting"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rebuild-all-123\twaiting\trebuild\t/m);
    const json = await runCli(["jobs", "list", "feeds", "--json"], env);
    expect(JSON.parse(json.stdout.trim().split("\n")[0]!)).toMatchObject({ id: "rebuild-all-123", state: "waiting" });
    const ids = await runCli(["jobs", "list", "feeds", "--ids", "--limit", "1"], env);
    expect(ids.stdout).toBe("rebuild-all-123\n");
    const noIds = await runCli(["jobs", "list", "feeds", "--ids", "--state", "failed"], env);
    expect(noIds.code).toBe(1);
    expect(noIds.stderr.trim()).toBe("herald: no failed jobs in feeds");
    const failed = await runCli(["jobs", "list", "feeds", "--state", "failed"], env);
    expect(failed.stdout.trim()).toBe("no failed jobs in feeds");
    const bad = await runCli(["jobs", "list", "feeds", "--state", "broken"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^herald: unknown state "broken"; states: waiting, active/);
    const badQueue = await runCli(["jobs", "list", "nope"], env);
    expect(badQueue.code).toBe(1);
    expect(badQueue.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("waiting on workers", { timeout: 90_000 }, () => {
  it("digest run --wait and feeds rebuild --wait give up with one line when no worker runs", async () => {
    const started = Date.now();
    const d = await runCli(["digest", "run", "daily", "--wait", "--timeout", "2"], env);
    expect(d.code).toBe(1);
    expect(d.stderr.trim().split("\n").at(-1)).toMatch(
      /^herald: no worker is running for queue digests \(waited 2 s\)/,
    );
    const bad = await runCli(["digest", "run", "daily", "--wait", "--timeout", "abc"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr.split("\n")[0]).toBe(
      "herald: option '--timeout <seconds>' argument 'abc' is invalid. give seconds, more than 0 and at most 86400",
    );
    const f = await runCli(["feeds", "rebuild", "--wait", "--timeout", "1"], env);
    expect(f.code).toBe(1);
    expect(f.stderr.trim()).toMatch(/^herald: no worker is running for queue feeds/);
    expect(Date.now() - started).toBeLessThan(45_000);
    const s = JSON.parse((await runCli(["status", "--json"], env)).stdout);
    expect(Object.values(s.workers)).toEqual(Object.values(s.workers).map(() => 0));
    const human = await runCli(["status"], env);
    expect(human.stdout).toContain("no worker is connected");
    const hc = await runCli(["healthcheck", "--workers"], env);
    expect(hc.code).toBe(1);
    expect(hc.stderr).toMatch(/^herald: no worker is running for queue\(s\) release-events, feeds/);
    expect((await runCli(["healthcheck"], env)).code).toBe(0);
  });

  it("with workers running: status counts them per queue and feeds rebuild --wait finishes", async () => {
    workers = startWorkers(rt);
    const s = JSON.parse((await runCli(["status", "--json"], env)).stdout);
    for (const name of ["release-events", "feeds", "partners", "alerts", "emails", "digests"])
      expect(s.workers[name], name).toBeGreaterThanOrEqual(1);
    const f = await runCli(["feeds", "rebuild", "--wait"], env);
    expect(f.stderr).toBe("");
    expect(f.code).toBe(0);
    expect(f.stdout).toContain("every feed is rebuilt");
    expect((await runCli(["healthcheck", "--workers"], env)).code).toBe(0);
  });
});

describe("herald start", { timeout: 90_000 }, () => {
  it("exits with one line when the port is taken, and leaves no worker behind", async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = await runCli(["start"], { ...env, PORT: String(port), LOG_LEVEL: "warn" }, { timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(
        `herald: port ${port} on 127.0.0.1 is in use (EADDRINUSE); set PORT (or HOST) to a free one`,
      );
      const s = JSON.parse((await runCli(["status", "--json"], env)).stdout);
      expect(Object.values(s.workers).every((n) => n === 0)).toBe(true);
    } finally {
      busy.close();
    }
  });

  it("logs JSON lines on a pipe, saying where to go, with PUBLIC_URL following PORT", async () => {
    const port = await freePort();
    const { child, output } = await startCli(
      ["start"],
      { ...env, PORT: String(port), LOG_LEVEL: "info" },
      /API token: /,
    );
    try {
      const lines = output()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { msg: string; time: number; level: number });
      const msgs = lines.map((l) => l.msg);
      expect(msgs).toEqual(
        expect.arrayContaining([
          `subscribe:  http://localhost:${port}/subscribe`,
          `feeds:      http://localhost:${port}/feeds`,
          `mail:       written as .eml files to ${env.OUTBOX_DIR}/ (SMTP_URL is unset)`,
          "dashboard:  off (set ADMIN_PASSWORD to serve Bull Board at /admin/queues)",
        ]),
      );
      expect(msgs.some((m) => m.startsWith(`API token:  ${path.join(env.VAR_DIR!, "api-token")}`))).toBe(true);
      expect(msgs.some((m) => m.includes(`(public URL http://localhost:${port})`))).toBe(true);
      const page = await fetch(`http://127.0.0.1:${port}/feeds`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain(`http://localhost:${port}/feeds/`);
      expect(html).not.toContain("localhost:3000");
    } finally {
      expect(await stopCli(child)).toBe(0);
    }
  });
});

describe(".env", { timeout: 60_000 }, () => {
  it("is read from the current directory by the CLI; the real environment wins", async () => {
    const cwd = mkdtempSync(path.join(dir, "envdir-"));
    writeFileSync(path.join(cwd, ".env"), `HERALD_PREFIX=${rt.config.prefix}\nREDIS_URL=${redisUrl()}\n`);
    const fromFile = await runCli(["status", "--json"], { HERALD_ENV_FILE: "" }, { cwd });
    expect(fromFile.stderr).toBe("");
    expect(JSON.parse(fromFile.stdout).prefix).toBe(rt.config.prefix);
    const envWins = await runCli(
      ["status", "--json"],
      { HERALD_ENV_FILE: "", HERALD_PREFIX: `${rt.config.prefix}-env` },
      { cwd },
    );
    expect(JSON.parse(envWins.stdout).prefix).toBe(`${rt.config.prefix}-env`);
    const secret = await runCli(["status"], { HERALD_ENV_FILE: "", SECRET_KEY: "short-but-secret" }, { cwd });
    expect(secret.code).toBe(1);
    expect(secret.stderr.trim()).toMatch(/^herald: invalid configuration: SECRET_KEY=\(hidden\) is not allowed/);
    expect(secret.stderr).not.toContain("short-but-secret");
  });
});
