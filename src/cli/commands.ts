// The table of `herald` commands and the program built from it (src/main.ts runs it).
//
// Start-up cost is the contract here (ops scripts call `herald` in loops): this file imports
// only commander. The module of the command being run is loaded on demand; `herald --help`
// lists the commands from the table below without loading any of them (so no BullMQ, Fastify,
// MJML or zod), and `herald status` never loads Fastify or MJML.
import { readFileSync } from "node:fs";
import { Command } from "commander";

type Register = (program: Command) => void;

interface CommandEntry {
  /** Top-level command name, as typed. */
  name: string;
  /** Its one-line description; the registered command must say the same (a test checks). */
  description: string;
  load: () => Promise<Register>;
}

const releases = async () => (await import("./releases.ts")).registerReleases;

export const COMMANDS: CommandEntry[] = [
  {
    name: "start",
    description: "run the HTTP server and the queue workers",
    load: async () => (await import("./start.ts")).registerStart,
  },
  { name: "import", description: "print the release JSON for a scraped page (text or HTML)", load: releases },
  { name: "publish", description: "publish a release from JSON or a scraped page", load: releases },
  { name: "update", description: "store a corrected revision of a release", load: releases },
  { name: "withdraw", description: "withdraw a release from feeds, partners and further email", load: releases },
  {
    name: "status",
    description: "queues, connected workers, releases and channel health",
    load: async () => (await import("./status.ts")).registerStatus,
  },
  {
    name: "healthcheck",
    description: "exit 0 when Redis answers (with --workers: when every queue has a connected worker)",
    load: async () => (await import("./status.ts")).registerStatus,
  },
  {
    name: "demo",
    description: "publish the sample releases to sample readers, a partner and the feeds, through the queues",
    load: async () => (await import("./demo.ts")).registerDemo,
  },
  {
    name: "jobs",
    description: "list, inspect and retry queue jobs",
    load: async () => (await import("./jobs.ts")).registerJobs,
  },
  {
    name: "feeds",
    description: "RSS, Atom and JSON feeds",
    load: async () => (await import("./feeds.ts")).registerFeeds,
  },
  {
    name: "partners",
    description: "partner outlets that receive signed ninjs webhooks",
    load: async () => (await import("./partners.ts")).registerPartners,
  },
  {
    name: "subscribers",
    description: "email subscribers: add, import, list, remove",
    load: async () => (await import("./subscribers.ts")).registerSubscribers,
  },
  {
    name: "digest",
    description: "email digests: run now, or preview one reader's",
    load: async () => (await import("./digest.ts")).registerDigest,
  },
  {
    name: "mail",
    description: "email delivery: bounce reports and complaints that come back by mail",
    load: async () => (await import("./mail.ts")).registerMail,
  },
  {
    name: "taxonomy",
    description: "the topics and regions releases may name, with labels (en, fr, es) and IPTC / ISO codes",
    load: async () => (await import("./taxonomy.ts")).registerTaxonomy,
  },
];

export const HELP_EXAMPLES = `
Examples:
  npx herald start                                  HTTP server and workers (reads .env when present)
  npx herald publish examples/releases/01-obock-response-centre.json
  npx herald subscribers add ana@example.org --frequency daily --confirmed
  npx herald status                                 queues, connected workers, subscribers, partners
  npx herald jobs list feeds --state failed         find a JOB_ID, then: npx herald jobs show feeds JOB_ID
  npx herald digest run daily --wait                queue today's daily digest and follow it
  npx herald COMMAND --help                         the options of one command

Configuration: environment variables (see README), also read from ./.env (HERALD_ENV_FILE).
`;

/** The command the arguments name (`help X` names X), if any. */
export function commandName(args: string[]): string | undefined {
  const words = args.filter((a) => !a.startsWith("-"));
  return words[0] === "help" ? words[1] : words[0];
}

function version(): string {
  // The package's own package.json, from src/cli/ (tsx) and dist/cli/ (compiled) alike.
  return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string })
    .version;
}

/** A reader that stops reading (`herald subscribers list | head`) is not an error: exit quietly. */
export function quietOnBrokenPipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
    throw err;
  });
}

export async function buildProgram(args: string[]): Promise<Command> {
  const program = new Command("herald")
    .description("Herald: press releases in; email, feeds and signed partner webhooks out")
    .version(version(), "-V, --version", "print Herald's version")
    .showHelpAfterError("(run herald --help for usage)")
    .addHelpText("after", HELP_EXAMPLES)
    .configureOutput({
      outputError: (str, write) => write(`${str.split("\n")[0]!.replace(/^error: /, "herald: ")}\n`),
    });
  const wanted = commandName(args);
  const entry = COMMANDS.find((c) => c.name === wanted);
  if (entry) {
    (await entry.load())(program);
  } else {
    // --help, no command or an unknown one: the table is enough to list them (or say which is unknown).
    for (const c of COMMANDS) program.command(c.name).description(c.description);
  }
  return program;
}
