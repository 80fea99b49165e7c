// `herald demo`: see every channel work on a fresh install, in under 30 seconds.
import path from "node:path";
import type { Command } from "commander";
import { chooseRedis } from "../boot.ts";
import { action, cliConfig } from "./context.ts";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("publish the sample releases to sample readers, a partner and the feeds, through the queues")
    .option("--keep", "keep the demo's Redis keys afterwards (default: removed)")
    .action(
      action(async (opts: { keep?: boolean }) => {
        const config = cliConfig();
        const redis = await chooseRedis(config, true);
        const say = (line: string) => process.stdout.write(`  ${line}\n`);
        process.stdout.write("Herald demo\n");
        try {
          const { runDemo } = await import("../demo.ts"); // Fastify and the workers: loaded only here
          const r = await runDemo({ config, redisUrl: redis.url, keep: opts.keep, say });
          const rel = (p: string) => path.relative(process.cwd(), p) || p;
          const verified = r.partnerDeliveries.filter((d) => d.verified).length;
          process.stdout.write(
            [
              "",
              `Done in ${r.seconds.toFixed(1)} s. Where to look:`,
              `  email      ${r.outbox.length} .eml files in ${rel(path.dirname(r.outbox[0] ?? path.join(r.outDir, "outbox", "x")))}/ (open them in any mail client)`,
              `  preview    ${r.previewFile ? rel(r.previewFile) : "(no digest due)"}: the weekly digest as its reader will get it`,
              `  feeds      ${Object.values(r.feeds).map(rel).join(", ")}`,
              `  partner    ${r.partnerDeliveries.length} signed webhook(s), ${verified} verified, bodies in ${rel(path.join(r.outDir, "partner"))}/`,
              "",
              "Next: `npm start`, then publish your own with `npx herald publish FILE` (see README).",
              "",
            ].join("\n"),
          );
        } finally {
          await redis.embedded?.stop();
        }
      }),
    );
}
