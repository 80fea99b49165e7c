// `herald publish | import | update | withdraw`: the press office's commands. A FILE is release
// JSON, or a scraped page (plain text or HTML) that the importer turns into release JSON.
import type { Command } from "commander";
import { ImportError, type ImportOptions, importPage } from "../releases/importer.ts";
import { ReleaseService } from "../releases/service.ts";
import { action, CliError, list, readTextFile, withRuntime } from "./context.ts";

interface PageFlags {
  publishedAt?: string;
  topics?: string;
  regions?: string;
  language?: string;
}

/** Release JSON from FILE: parsed as JSON when it is JSON, else imported as a page. */
export function releaseFromFile(file: string, flags: PageFlags): Record<string, unknown> {
  const text = readTextFile(file);
  const trimmed = text.trimStart();
  let release: Record<string, unknown>;
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new CliError(`${file} must hold one JSON object (a release)`);
    release = parsed as Record<string, unknown>;
  } else {
    try {
      release = importPage(text, importOptions(flags)) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof ImportError) throw new CliError(`${file}: ${err.message}`);
      throw err;
    }
  }
  // Flags fill what the file does not say; they never overwrite it.
  const opts = importOptions(flags);
  if (opts.publishedAt && !release.publishedAt) release.publishedAt = opts.publishedAt;
  if (opts.language && !release.language) release.language = opts.language;
  if (opts.topics && !(release.topics as unknown[] | undefined)?.length) release.topics = opts.topics;
  if (opts.regions && !(release.regions as unknown[] | undefined)?.length) release.regions = opts.regions;
  return release;
}

function importOptions(flags: PageFlags): ImportOptions {
  return {
    ...(flags.publishedAt ? { publishedAt: flags.publishedAt } : {}),
    ...(flags.topics ? { topics: list(flags.topics) } : {}),
    ...(flags.regions ? { regions: list(flags.regions) } : {}),
    ...(flags.language ? { language: flags.language } : {}),
  };
}

function pageFlags(cmd: Command): Command {
  return cmd
    .option("--published-at <iso>", "publication time, when the page does not say")
    .option("--topics <a,b>", "topic slugs (never guessed from the page)")
    .option("--regions <x,y>", "region slugs")
    .option("--language <code>", "language code, when the page does not say (default en)");
}

export function registerReleases(program: Command): void {
  pageFlags(
    program.command("import <file>").description("print the release JSON for a scraped page (text or HTML)"),
  ).action(
    action(async (file: string, flags: PageFlags) => {
      process.stdout.write(`${JSON.stringify(releaseFromFile(file, flags), null, 2)}\n`);
    }),
  );

  pageFlags(program.command("publish <file>").description("publish a release from JSON or a scraped page")).action(
    action(async (file: string, flags: PageFlags) => {
      const release = releaseFromFile(file, flags);
      await withRuntime(async (rt) => {
        const r = await new ReleaseService(rt).publish(release);
        process.stdout.write(
          r.event
            ? `published ${r.id} revision ${r.revision} (${r.status}); queued job ${r.jobId}\n`
            : `${r.id} revision ${r.revision} is already stored with this content; nothing queued\n`,
        );
      });
    }),
  );

  program
    .command("update <id> <file>")
    .description("store a corrected revision of a release")
    .option("--note <text>", "the correction notice readers see")
    .action(
      action(async (id: string, file: string, flags: { note?: string }) => {
        const release = releaseFromFile(file, {});
        await withRuntime(async (rt) => {
          const r = await new ReleaseService(rt).update(id, release, flags.note);
          process.stdout.write(
            r.event
              ? `updated ${r.id} to revision ${r.revision}; queued job ${r.jobId}\n`
              : `${r.id} is unchanged; nothing queued\n`,
          );
        });
      }),
    );

  program
    .command("withdraw <id>")
    .description("withdraw a release from feeds, partners and further email")
    .option("--note <text>", "why it was withdrawn")
    .action(
      action(async (id: string, flags: { note?: string }) => {
        await withRuntime(async (rt) => {
          const r = await new ReleaseService(rt).withdraw(id, flags.note);
          process.stdout.write(
            r.event
              ? `withdrew ${r.id} (revision ${r.revision}); queued job ${r.jobId}\n`
              : `${r.id} was already withdrawn\n`,
          );
        });
      }),
    );
}
