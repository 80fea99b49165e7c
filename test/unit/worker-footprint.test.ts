// What a worker process loads at start-up (`herald start --workers-only`): the modules of the start
// command and the workers, and none of the HTTP stack (Fastify, bull-board, prom-client), the
// body sanitiser (sanitize-html) or MJML: those load on first use, and MJML on its own thread
// (src/templates/mjml-thread.ts). Each of them is megabytes a worker would carry for good. Read in
// a fresh process (the CommonJS packages it loaded, from require.cache).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Packages (CommonJS) a fresh process holds after running `script` (an ES module, from the repo root). */
function packagesAfter(script: string): string[] {
  const out = execFileSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `${script}
       const { createRequire } = await import("node:module");
       const names = new Set();
       for (const f of Object.keys(createRequire(import.meta.url).cache)) {
         const m = f.match(/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//);
         if (m) names.add(m[1]);
       }
       process.stdout.write(JSON.stringify([...names]));
       process.exit(0);`,
    ],
    { cwd: root, encoding: "utf8", timeout: 60_000 },
  );
  return JSON.parse(out) as string[];
}

const HEAVY = ["fastify", "@bull-board/api", "prom-client", "sanitize-html", "mjml", "mjml-core"];

describe("worker process footprint", () => {
  it("the start command and the workers load none of the HTTP stack, the sanitiser or MJML", () => {
    const loaded = packagesAfter(`await import("./src/cli/start.ts"); await import("./src/jobs/workers.ts");`);
    // Not vacuous: what they do need is there.
    expect(loaded).toEqual(expect.arrayContaining(["ioredis", "bullmq", "pino"]));
    for (const name of HEAVY) expect(loaded).not.toContain(name);
  });

  it("each loads when first used: a release body sanitised, the HTTP app built", () => {
    const loaded = packagesAfter(
      `const { sanitizeBody } = await import("./src/releases/sanitize.ts");
       if (!sanitizeBody("<p>a<script>x</script></p>").startsWith("<p>a")) throw new Error("not sanitised");
       await import("./src/http/app.ts");`,
    );
    expect(loaded).toEqual(expect.arrayContaining(["sanitize-html", "fastify", "prom-client"]));
  });
});
