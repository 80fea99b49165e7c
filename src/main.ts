// The `herald` command line. Each area registers its commands from src/cli/.
import { Command } from "commander";
import { registerDemo } from "./cli/demo.ts";
import { registerJobs } from "./cli/jobs.ts";
import { registerReleases } from "./cli/releases.ts";
import { registerFeeds } from "./cli/feeds.ts";
import { registerStart } from "./cli/start.ts";
import { registerStatus } from "./cli/status.ts";
import { registerPartners } from "./cli/partners.ts";
import { registerSubscribers } from "./cli/subscribers.ts";
import { registerDigest } from "./cli/digest.ts";
import { registerMail } from "./cli/mail.ts";
import { registerTaxonomy } from "./cli/taxonomy.ts";

const program = new Command("herald")
  .description("Herald: press releases in; email, feeds and signed partner webhooks out")
  .showHelpAfterError("(run herald --help for usage)")
  .configureOutput({ outputError: (str, write) => write(`${str.split("\n")[0]!.replace(/^error: /, "herald: ")}\n`) });

registerStart(program);
registerReleases(program);
registerStatus(program);
registerDemo(program);
registerJobs(program);
registerFeeds(program);
registerPartners(program);
registerSubscribers(program);
registerDigest(program);
registerMail(program);
registerTaxonomy(program);

await program.parseAsync(process.argv);
