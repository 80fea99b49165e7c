// Issue 14 (the first hour): PUBLIC_URL from HOST/PORT, secrets never echoed by config errors,
// .env loading, the log format decision, and the CLI's command table (light --help).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMANDS, buildProgram, commandName } from "../../src/cli/commands.ts";
import { listenProblem, whereToGo } from "../../src/cli/start.ts";
import { EnvFileError, loadEnvFile } from "../../src/config/env-file.ts";
import { ConfigError, loadConfig, publicUrlFor, shownValue, testConfig } from "../../src/config/index.ts";
import { createLogger, logFormat } from "../../src/log.ts";
import { ROOT } from "../helpers/cli.ts";

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("PUBLIC_URL when unset", () => {
  it("follows PORT on a local HOST, so links work after PORT=4000", () => {
    expect(loadConfig({ PORT: "4000" }).publicUrl).toBe("http://localhost:4000");
    expect(loadConfig({}).publicUrl).toBe("http://localhost:3000");
    for (const host of ["127.0.0.1", "0.0.0.0", "localhost", "::", "::1", "LOCALHOST"]) {
      expect(loadConfig({ HOST: host, PORT: "8080" }).publicUrl).toBe("http://localhost:8080");
    }
  });

  it("uses HOST itself otherwise (IPv6 in brackets)", () => {
    expect(loadConfig({ HOST: "news.example.org", PORT: "8080" }).publicUrl).toBe("http://news.example.org:8080");
    expect(publicUrlFor("10.0.0.5", 3000)).toBe("http://10.0.0.5:3000");
    expect(publicUrlFor("fd00::5", 3000)).toBe("http://[fd00::5]:3000");
  });

  it("is never overridden when set", () => {
    expect(loadConfig({ PORT: "4000", PUBLIC_URL: "https://news.example.org/" }).publicUrl).toBe(
      "https://news.example.org",
    );
  });
});

describe("config errors never echo a secret", () => {
  const cases: [string, string][] = [
    ["SECRET_KEY", "tooshort-s3cr3t"],
    ["SECRET_KEY_PREVIOUS", "tooshort-s3cr3t"],
    ["API_TOKEN", "s3cr3t"],
    ["ADMIN_PASSWORD", "s3cr3t"],
  ];
  for (const [name, value] of cases) {
    it(`${name}: names it, hides the value`, () => {
      const msg = configError({ [name]: value });
      expect(msg).toContain(`${name}=(hidden) is not allowed`);
      expect(msg).not.toContain(value);
    });
  }

  it("URLs with credentials: the user and password are hidden, the rest is shown", () => {
    const redis = configError({ REDIS_URL: "redis://admin:hunter2pass@cache.internal:notaport" });
    expect(redis).not.toContain("hunter2pass");
    expect(redis).not.toContain("admin");
    expect(redis).toContain("REDIS_URL=");
    const smtp = configError({ SMTP_URL: "http://mailer:pa55word@smtp.example.org:587" });
    expect(smtp).toContain('SMTP_URL="http://(hidden)@smtp.example.org:587"');
    expect(smtp).not.toContain("pa55word");
    // Not even a URL, yet it carries user:password.
    const broken = configError({ SMTP_URL: "mailer:pa55word@smtp.example.org" });
    expect(broken).toContain("SMTP_URL=(hidden)");
    expect(broken).not.toContain("pa55word");
  });

  it("any variable named like a secret is hidden, whoever adds it (METRICS_TOKEN, DKIM_PRIVATE_KEY, …)", () => {
    for (const name of [
      "METRICS_TOKEN",
      "DKIM_PRIVATE_KEY",
      "SMTP_PASSWORD",
      "SMTP_PASS",
      "WEBHOOK_SECRET",
      "SIGNING_KEY",
    ])
      expect(shownValue(name, "abc")).toBe("(hidden)");
    expect(shownValue("PORT", "abc")).toBe('"abc"');
  });
});

describe(".env", () => {
  const dir = () => mkdtempSync(path.join(tmpdir(), "herald-envfile-"));

  it("fills unset variables from ./.env; the real environment wins", () => {
    const cwd = dir();
    writeFileSync(path.join(cwd, ".env"), '# comment\nPORT=4000\nORG_NAME="Org from file"\nHERALD_PREFIX=fromfile\n');
    const env: Record<string, string | undefined> = { HERALD_PREFIX: "fromenv" };
    expect(loadEnvFile(env, cwd)).toBe(path.join(cwd, ".env"));
    expect(env).toMatchObject({ PORT: "4000", ORG_NAME: "Org from file", HERALD_PREFIX: "fromenv" });
    expect(loadConfig(env)).toMatchObject({ port: 4000, publicUrl: "http://localhost:4000", prefix: "fromenv" });
  });

  it("no file: nothing happens; HERALD_ENV_FILE names another file or off; a missing named file is an error", () => {
    const cwd = dir();
    const env: Record<string, string | undefined> = {};
    expect(loadEnvFile(env, cwd)).toBeUndefined();
    expect(env).toEqual({});
    writeFileSync(path.join(cwd, ".env"), "PORT=4000\n");
    writeFileSync(path.join(cwd, "prod.env"), "PORT=5000\n");
    const off: Record<string, string | undefined> = { HERALD_ENV_FILE: "off" };
    expect(loadEnvFile(off, cwd)).toBeUndefined();
    expect(off.PORT).toBeUndefined();
    const named: Record<string, string | undefined> = { HERALD_ENV_FILE: "prod.env" };
    loadEnvFile(named, cwd);
    expect(named.PORT).toBe("5000");
    expect(() => loadEnvFile({ HERALD_ENV_FILE: "missing.env" }, cwd)).toThrow(EnvFileError);
  });
});

describe("log format", () => {
  it("is pretty for a terminal and JSON for anything else", () => {
    expect(logFormat({ isTTY: true })).toBe("pretty");
    expect(logFormat({ isTTY: false })).toBe("json");
    expect(logFormat({})).toBe("json");
  });

  const capture = (isTTY: boolean) => {
    let out = "";
    const stream = Object.assign(
      new Writable({
        write(chunk, _enc, done) {
          out += chunk;
          done();
        },
      }),
      { isTTY },
    );
    return { stream, text: () => out };
  };

  it("writes JSON lines to a pipe and readable lines (clock time, no epoch) to a terminal", () => {
    const pipe = capture(false);
    createLogger("info", pipe.stream).info({ queue: "feeds" }, "hello pipe");
    const line = JSON.parse(pipe.text().trim());
    expect(line).toMatchObject({ level: 30, msg: "hello pipe", queue: "feeds" });
    expect(typeof line.time).toBe("number");

    const tty = capture(true);
    createLogger("info", tty.stream).info({ queue: "feeds" }, "hello terminal");
    const text = tty.text();
    expect(() => JSON.parse(text)).toThrow();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: hello terminal/);
    expect(text).toContain('"queue":"feeds"');
    expect(text).not.toMatch(/\d{13}/);
  });
});

describe("start-up lines", () => {
  it("say where to go, where mail lands and where the API token is", () => {
    const config = testConfig({ publicUrl: "http://localhost:4000", outboxDir: "var/outbox" });
    const lines = whereToGo(config, { hasHome: true, tokenFile: "var/api-token" }).join("\n");
    for (const want of [
      "http://localhost:4000/\n",
      "http://localhost:4000/subscribe",
      "http://localhost:4000/feeds",
      "var/outbox/",
      "dashboard:  off",
      "var/api-token",
    ]) {
      expect(lines).toContain(want);
    }
    const withDashboard = whereToGo(
      { ...config, adminPassword: "correct-horse", smtpUrl: "smtp://u:p4ss@mail:587" },
      { hasHome: false },
    ).join("\n");
    expect(withDashboard).toContain("http://localhost:4000/admin/queues");
    expect(withDashboard).not.toContain("p4ss");
    expect(withDashboard).not.toContain("home page");
  });

  it("name a busy port in one line", () => {
    expect(listenProblem(Object.assign(new Error("x"), { code: "EADDRINUSE" }), "127.0.0.1", 3000)).toBe(
      "port 3000 on 127.0.0.1 is in use (EADDRINUSE); set PORT (or HOST) to a free one",
    );
    expect(listenProblem(new Error("other"), "127.0.0.1", 3000)).toBeUndefined();
  });
});

describe("the command table (what --help shows without loading any command)", () => {
  it("says what each registered command says", async () => {
    for (const entry of COMMANDS) {
      const program = new Command("herald");
      (await entry.load())(program);
      const cmd = program.commands.find((c) => c.name() === entry.name);
      expect(cmd, entry.name).toBeDefined();
      expect(cmd!.description()).toBe(entry.description);
    }
  });

  it("lists every command, and loads the named one for `herald X` and `herald help X`", async () => {
    expect(commandName(["--help"])).toBeUndefined();
    expect(commandName(["help", "status"])).toBe("status");
    expect(commandName(["jobs", "list", "feeds"])).toBe("jobs");
    const all = await buildProgram(["--help"]);
    expect(all.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
    const jobs = await buildProgram(["jobs", "list"]);
    expect(jobs.commands.find((c) => c.name() === "jobs")!.commands.map((c) => c.name())).toEqual(
      expect.arrayContaining(["list", "show", "retry"]),
    );
  });

  it("imports nothing heavy at start-up: main.ts's static imports never reach BullMQ, Fastify, MJML, ioredis or zod", () => {
    const heavy = /^(bullmq|fastify|mjml|ioredis|zod|pino|nodemailer|@bull-board\/.*|@fastify\/.*)$/;
    const seen = new Set<string>();
    const reached: string[] = [];
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, "utf8");
      // Static imports only: `import x from "y"` / `import "y"`, not `import type` nor import().
      for (const m of src.matchAll(/^import\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']/gm)) {
        const spec = m[1]!;
        if (spec.startsWith(".")) walk(path.resolve(path.dirname(file), spec));
        else if (heavy.test(spec)) reached.push(`${path.relative(ROOT, file)} -> ${spec}`);
      }
    };
    walk(path.join(ROOT, "src/main.ts"));
    expect(reached).toEqual([]);
    expect([...seen].map((f) => path.relative(ROOT, f)).sort()).toEqual([
      "src/cli/commands.ts",
      "src/config/env-file.ts",
      "src/main.ts",
    ]);
  });
});
