// `npm run build` (and `prepare`): compiles src/ into dist/ (or --outDir DIR) with
// tsconfig.build.json, then copies the data files src/ reads at run time (taxonomy.json), so
// dist/ runs on its own (the Docker image ships dist/ without src/).
import { execFileSync } from "node:child_process";
import { cpSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const at = process.argv.indexOf("--outDir");
const out = path.resolve(at > 0 ? process.argv[at + 1] : path.join(root, "dist"));

rmSync(out, { recursive: true, force: true });
const tsc = path.join(root, "node_modules/typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json"), "--outDir", out], {
  cwd: root,
  stdio: "inherit",
});
cpSync(path.join(root, "src"), out, {
  recursive: true,
  filter: (f) => statSync(f).isDirectory() || f.endsWith(".json"),
});
