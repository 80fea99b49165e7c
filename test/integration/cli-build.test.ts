// Issue 14.2: the installed command runs compiled JavaScript. This builds the current source
// afresh (never a stale dist/) into a scratch copy holding only bin/, dist/ and package.json, and
// runs bin/herald.js there: no src/ and no tsx are reachable, so whatever answers is dist/.
import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.ts";
import { redisUrl, type TestRuntime, testRuntime } from "../helpers/runtime.ts";

const run = promisify(execFile);
// Inside the repository (var/ is ignored) so dist/ resolves the packages in ROOT/node_modules.
mkdirSync(path.join(ROOT, "var"), { recursive: true });
const scratch = mkdtempSync(path.join(ROOT, "var", "build-test-"));
let rt: TestRuntime;

beforeAll(async () => {
  // The same build as `npm run build`, into the scratch directory.
  await run(process.execPath, [path.join(ROOT, "scripts/build.mjs"), "--outDir", path.join(scratch, "dist")], {
    cwd: ROOT,
    timeout: 120_000,
  });
  cpSync(path.join(ROOT, "bin"), path.join(scratch, "bin"), { recursive: true });
  cpSync(path.join(ROOT, "package.json"), path.join(scratch, "package.json"));
  rt = await testRuntime({ label: "build" });
}, 150_000);
afterAll(async () => {
  await rt?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

const herald = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [path.join(scratch, "bin/herald.js"), ...args], {
    cwd: scratch,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", HERALD_ENV_FILE: "off", ...env },
    timeout: 30_000,
  });

describe("bin/herald.js runs the compiled dist/", { timeout: 60_000 }, () => {
  it("the build emits JavaScript with .js imports (rewriteRelativeImportExtensions)", () => {
    const main = readFileSync(path.join(scratch, "dist/main.js"), "utf8");
    expect(main).toContain('from "./cli/commands.js"');
    expect(main).not.toMatch(/from "\.[^"]*\.ts"/);
    expect(existsSync(path.join(scratch, "src"))).toBe(false);
  });

  it("answers --help, --version and status --json", async () => {
    const help = await herald(["--help"]);
    expect(help.stdout).toContain("Usage: herald");
    expect(help.stdout).toContain("Examples:");
    const version = await herald(["--version"]);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    const status = await herald(["status", "--json"], { REDIS_URL: redisUrl(), HERALD_PREFIX: rt.config.prefix });
    expect(JSON.parse(status.stdout)).toMatchObject({ prefix: rt.config.prefix, workers: { feeds: 0 } });
  });

  it("warns (and still runs) when a source file changed after the build", async () => {
    const clean = await herald(["--version"]);
    expect(clean.stderr).toBe("");
    mkdirSync(path.join(scratch, "src"), { recursive: true });
    const later = new Date(statSync(path.join(scratch, "dist/main.js")).mtimeMs + 5_000);
    writeFileSync(path.join(scratch, "src/changed.ts"), "export {};\n");
    utimesSync(path.join(scratch, "src/changed.ts"), later, later);
    try {
      const stale = await herald(["--version"]);
      expect(stale.stderr).toBe(
        "herald: warning: changed.ts changed after the last build; run `npm run build` (dist/ is older than src/)\n",
      );
      expect(stale.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      rmSync(path.join(scratch, "src"), { recursive: true, force: true });
    }
  });

  it("says how to build when dist/ is missing", async () => {
    const bare = mkdtempSync(path.join(ROOT, "var", "build-test-bare-"));
    try {
      cpSync(path.join(ROOT, "bin"), path.join(bare, "bin"), { recursive: true });
      const err = await run(process.execPath, [path.join(bare, "bin/herald.js"), "--help"]).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect((err as { code: number }).code).toBe(1);
      expect((err as { stderr: string }).stderr).toMatch(/^herald: dist\/ is missing: run `npm run build`/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it("package.json wires it: build by prepare, start and bin on dist/, tsx only for development", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts.prepare).toBe("npm run build");
    expect(pkg.scripts.build).toBe("node scripts/build.mjs");
    expect(readFileSync(path.join(ROOT, "scripts/build.mjs"), "utf8")).toContain("tsconfig.build.json");
    expect(pkg.scripts.start).toBe("node bin/herald.js start");
    expect(pkg.bin.herald).toBe("bin/herald.js");
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toBeDefined();
    expect(readFileSync(path.join(ROOT, ".gitignore"), "utf8").split("\n")).toContain("dist/");
    const build = JSON.parse(readFileSync(path.join(ROOT, "tsconfig.build.json"), "utf8"));
    expect(build.compilerOptions).toMatchObject({
      outDir: "dist",
      rewriteRelativeImportExtensions: true,
      noEmit: false,
    });
  });
});
