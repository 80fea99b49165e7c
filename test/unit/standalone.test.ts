// Issue 14.1: the repository stands alone. Everything the tests, the README and the design
// need lives in it; nothing reads a folder beside the clone. `.ci/run` also runs the whole suite
// from a copy of the tracked files with nothing beside it.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.ts";

const SKIP = new Set(["node_modules", ".git", "dist", "var", "coverage"]);
/** The repository's files: git's list in a clone, else (CI's copy has no .git) a walk of the tree. */
function repoFiles(): string[] {
  try {
    return execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .split("\n")
      .filter((f) => f && existsSync(path.join(ROOT, f)));
  } catch {
    return readdirSync(ROOT, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
      .filter((f) => !SKIP.has(f.split(path.sep)[0]!));
  }
}
const tracked = repoFiles();

describe("the repository stands alone", () => {
  it("carries its design document, the ninjs schema with its licence note and the sample page", () => {
    for (const f of [
      "docs/architecture.md",
      "test/fixtures/schemas/ninjs-schema_3.1.json",
      "test/fixtures/schemas/README.md",
      "test/fixtures/seeds/000_c917e069518bdab8.txt",
      "examples/page.txt",
    ]) {
      expect(existsSync(path.join(ROOT, f)), f).toBe(true);
    }
    expect(readFileSync(path.join(ROOT, "test/fixtures/schemas/README.md"), "utf8")).toMatch(/IPTC[\s\S]*CC BY 4\.0/);
    expect(readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain("](docs/architecture.md)");
  });

  it("no tracked file reaches outside the repository for a sibling folder", () => {
    const sibling = ["..", "shared"].join("/"); // spelled apart so this file does not match itself
    const offenders = tracked.filter(
      (f) =>
        /\.(ts|js|json|md|sh|yml|yaml)$|^\.ci\/|^Dockerfile$/.test(f) &&
        readFileSync(path.join(ROOT, f), "utf8").includes(sibling),
    );
    expect(offenders).toEqual([]);
  });

  it("every locked dependency supports the Node versions package.json promises (no EBADENGINE)", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    const bad: string[] = [];
    for (const [where, p] of Object.entries(
      lock.packages as Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean }>,
    )) {
      const range = !Array.isArray(p.engines) ? p.engines?.node : undefined;
      if (!where || !range || p.optional) continue; // optional: platform binaries npm skips where they do not fit
      for (const node of [oldest, process.versions.node, "22.12.0", "24.0.0"]) {
        if (!semver.satisfies(node, range)) bad.push(`${where}@${p.version} wants node ${range}, not ${node}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
