// Issue 15: README.md's environment tables and src/config's ENV_VARIABLES name the same
// variables, so a variable cannot be added without its documentation, nor documented after it
// is gone.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_VARIABLES } from "../../src/config/index.ts";
import { ROOT } from "../helpers/cli.ts";

/** Read before the table by src/config/env-file.ts (it says which file fills the environment). */
const ENV_FILE_VARIABLE = "HERALD_ENV_FILE";

/** The names in the first column of every README table headed `| variable |`, with their line. */
function documentedVariables(readme: string): Map<string, number> {
  const found = new Map<string, number>();
  let inTable = false;
  for (const [i, line] of readme.split("\n").entries()) {
    if (/^\|\s*variable\s*\|/.test(line)) inTable = true;
    else if (!line.startsWith("|")) inTable = false;
    else if (inTable) {
      const first = line.split("|")[1] ?? "";
      for (const [, name] of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) found.set(name!, i + 1);
    }
  }
  return found;
}

describe("README's environment tables", () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const documented = documentedVariables(readme);
  const known = new Set([...Object.keys(ENV_VARIABLES), ENV_FILE_VARIABLE]);

  it("document every variable src/config reads", () => {
    expect(documented.size).toBeGreaterThan(40);
    const missing = [...known].filter((name) => !documented.has(name));
    expect(missing, "variables read but not in a README table").toEqual([]);
  });

  it("document no variable src/config does not read", () => {
    const unknown = [...documented]
      .filter(([name]) => !known.has(name))
      .map(([name, line]) => `README.md:${line} ${name}`);
    expect(unknown, "README rows naming no variable of src/config").toEqual([]);
    expect(readFileSync(path.join(ROOT, "src/config/env-file.ts"), "utf8")).toContain(`env.${ENV_FILE_VARIABLE}`);
  });
});
