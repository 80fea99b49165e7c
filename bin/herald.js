#!/usr/bin/env node
// The `herald` command: runs the compiled JavaScript in dist/ (`npm run build`, which
// `npm install` and `npm ci` run through `prepare`), so a call costs no TypeScript compilation.
// During development `npm run herald -- ARGS` runs the source through tsx instead; after
// changing src/, run `npm run build` before using this command.
import { existsSync } from "node:fs";
import module from "node:module";

// Node 22.1+: keep V8's compiled code between calls (scripts call herald in loops). No-op on 20.
module.enableCompileCache?.();

const main = new URL("../dist/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("herald: dist/ is missing: run `npm run build` (npm install does it), or `npm run herald -- ARGS` for the source\n");
  process.exit(1);
}
await import(main.href);
