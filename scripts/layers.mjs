// `npm run layers`: the import-graph check (docs/architecture.md, "Layout"). Reads every import
// of src/ (static, `export … from`, dynamic `import("…")`, type-only ones too) and fails on
//   - an import cycle between files;
//   - an import that points up the layers (ground < middle < channels < jobs < entry points);
//   - a channel importing another channel (mail, feeds, partners are siblings);
// unless it is one of the documented EXCEPTIONS below (at most three, each explained in
// docs/architecture.md). Why a script and not dependency-cruiser: dependency-cruiser 18 needs
// Node 22, and 17 parses TypeScript only through the `typescript` package's JavaScript API,
// which TypeScript 7 (ours) no longer ships; an import line is simple enough to read with a
// regular expression once comments are stripped.
// `node scripts/layers.mjs --graph` also prints the folder-level graph; `--src DIR` checks
// another tree laid out like src/ (the check's own test does that).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const srcAt = process.argv.indexOf("--src");
const src = srcAt > 0 ? path.resolve(process.argv[srcAt + 1]) : path.join(root, "src");

/**
 * Layers, lowest first. A file may import its own layer and the layers below it. The first
 * matching pattern wins (paths relative to src/, "/" separators).
 */
export const LAYERS = [
  {
    name: "ground",
    why: "config, Redis, clock, errors, log, start-up secrets (boot.ts), the release vocabulary and the queue topology",
    match: [
      /^config\//,
      /^redis\//,
      /^clock\.ts$/,
      /^errors\.ts$/,
      /^log\.ts$/,
      /^vocabulary\.ts$/,
      /^jobs\/queues\.ts$/,
      /^boot\.ts$/,
    ],
  },
  {
    name: "middle",
    why: "releases, subscribers and the words people read (i18n); the runtime, metrics and the Channel interface",
    match: [/^releases\//, /^subscribers\//, /^i18n\//, /^runtime\.ts$/, /^metrics\.ts$/, /^channel\.ts$/],
  },
  {
    name: "channels",
    why: "email (with its templates), feeds, partners: each owns its processors",
    match: [/^mail\//, /^templates\//, /^feeds\//, /^partners\//, /^channels\//],
  },
  { name: "jobs", why: "the channel list, release-event fan-out, workers, schedules", match: [/^jobs\//] },
  { name: "entry", why: "HTTP, the CLI and the demo on top", match: [/^http\//, /^cli\//, /^main\.ts$/, /^demo\.ts$/] },
];

/** Channel rooms: none imports another. (templates/ belongs to the email room.) */
export const CHANNELS = { mail: [/^mail\//, /^templates\//], feeds: [/^feeds\//], partners: [/^partners\//] };

/**
 * Documented exceptions, "from -> to" (paths relative to src/). At most three; each is
 * explained in docs/architecture.md ("Exceptions").
 */
export const EXCEPTIONS = new Set([]);

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Blanks comments (keeps strings and line numbers), so a commented-out import does not count. */
function stripComments(text) {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const n = text[i + 1];
    if (c === "/" && n === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && n === "*") {
      i += 2;
      while (i < text.length && !(text[i] === "*" && text[i + 1] === "/")) out += text[i++] === "\n" ? "\n" : "";
      i += 2;
    } else if (c === '"' || c === "'" || c === "`") {
      const q = c;
      out += text[i++];
      while (i < text.length && text[i] !== q) {
        if (text[i] === "\\") out += text[i++];
        out += text[i++];
      }
      out += text[i++] ?? "";
    } else out += text[i++];
  }
  return out;
}

const IMPORT_RE = /(?:^|[;\s])(?:import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']/g;
const DYNAMIC_RE = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Relative imports of a file, resolved to paths relative to src/. */
export function importsOf(file) {
  const text = stripComments(readFileSync(file, "utf8"));
  const specs = [];
  for (const m of text.matchAll(IMPORT_RE)) specs.push(m[2]);
  for (const m of text.matchAll(DYNAMIC_RE)) specs.push(m[1]);
  return specs
    .filter((s) => s.startsWith("."))
    .map((s) =>
      path
        .relative(src, path.resolve(path.dirname(file), s))
        .split(path.sep)
        .join("/"),
    );
}

export function layerOf(rel) {
  const i = LAYERS.findIndex((l) => l.match.some((re) => re.test(rel)));
  return i;
}

function channelOf(rel) {
  return Object.entries(CHANNELS).find(([, res]) => res.some((re) => re.test(rel)))?.[0];
}

export function check() {
  const files = walk(src).map((f) => path.relative(src, f).split(path.sep).join("/"));
  const graph = new Map(files.map((f) => [f, importsOf(path.join(src, f)).filter((t) => t !== f)]));
  const problems = [];
  const used = new Set();
  for (const [from, tos] of graph) {
    const lf = layerOf(from);
    if (lf < 0) problems.push(`${from}: in no layer (add it to LAYERS in scripts/layers.mjs)`);
    for (const to of tos) {
      if (!graph.has(to)) {
        if (!/\.json$/.test(to)) problems.push(`${from} -> ${to}: no such file under src/`);
        continue;
      }
      const lt = layerOf(to);
      const cf = channelOf(from);
      const ct = channelOf(to);
      let why;
      if (lt > lf) why = `${LAYERS[lf]?.name} imports ${LAYERS[lt]?.name} (up the layers)`;
      else if (cf && ct && cf !== ct) why = `channel ${cf} imports channel ${ct}`;
      if (!why) continue;
      const edge = `${from} -> ${to}`;
      if (EXCEPTIONS.has(edge)) used.add(edge);
      else problems.push(`${edge}: ${why}`);
    }
  }
  for (const e of EXCEPTIONS) if (!used.has(e)) problems.push(`exception no longer needed, remove it: ${e}`);
  if (EXCEPTIONS.size > 3) problems.push(`${EXCEPTIONS.size} exceptions: at most 3`);
  problems.push(...cycles(graph).map((c) => `import cycle: ${c.join(" -> ")}`));
  return { files, graph, problems };
}

/** Every cycle found by a depth-first walk (each reported once, from its first file). */
function cycles(graph) {
  const found = [];
  const state = new Map(); // 1 on the stack, 2 done
  const stack = [];
  const visit = (f) => {
    state.set(f, 1);
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (!graph.has(t)) continue;
      if (state.get(t) === 1) found.push([...stack.slice(stack.indexOf(t)), t]);
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return found;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, graph, problems } = check();
  if (process.argv.includes("--graph")) {
    const folder = (f) => (f.includes("/") ? f.slice(0, f.indexOf("/")) : f);
    const edges = new Map();
    for (const [from, tos] of graph)
      for (const to of tos)
        if (folder(from) !== folder(to))
          edges.set(`${folder(from)} -> ${folder(to)}`, (edges.get(`${folder(from)} -> ${folder(to)}`) ?? 0) + 1);
    for (const [e, n] of [...edges].sort()) console.log(`${e} (${n})`);
  }
  const edges = [...graph.values()].reduce((n, t) => n + t.length, 0);
  if (problems.length > 0) {
    for (const p of problems) console.error(`layers: ${p}`);
    console.error(`layers: ${problems.length} problem(s) in ${files.length} files`);
    process.exit(1);
  }
  console.log(
    `layers: ${files.length} files, ${edges} imports, no cycle, none up the layers, ${EXCEPTIONS.size} documented exception(s)`,
  );
}
