#!/usr/bin/env node
// The `herald` command: runs the compiled JavaScript in dist/ (`npm run build`, which
// `npm install` and `npm ci` run through `prepare`), so a call costs no TypeScript compilation.
// During development `npm run herald -- ARGS` runs the source through tsx instead.
import { existsSync, readdirSync, statSync } from "node:fs";
import module from "node:module";
import { fileURLToPath } from "node:url";

// Node 22.1+: keep V8's compiled code between calls (scripts call herald in loops). No-op on 20.
module.enableCompileCache?.();

const main = new URL("../dist/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("herald: dist/ is missing: run `npm run build` (npm install does it), or `npm run herald -- ARGS` for the source\n");
  process.exit(1);
}

// In a checkout, say so when src/ changed after the last build (a stale dist/ runs old code).
const src = fileURLToPath(new URL("../src", import.meta.url));
if (existsSync(src)) {
  const built = statSync(main).mtimeMs;
  const newer = readdirSync(src, { recursive: true, withFileTypes: true }).find(
    (e) => e.isFile() && e.name.endsWith(".ts") && statSync(`${e.parentPath ?? e.path}/${e.name}`).mtimeMs > built,
  );
  if (newer) process.stderr.write(`herald: warning: ${newer.name} changed after the last build; run \`npm run build\` (dist/ is older than src/)\n`);
}

await import(main.href);
