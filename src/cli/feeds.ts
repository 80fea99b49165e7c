// `herald feeds rebuild`: rebuild every feed through the queue (after a config change such as
// ORG_NAME, PUBLIC_URL, FEED_SIZE or WEBSUB_HUB, or on a cold cache). The workers do the work;
// this only queues it and prints the job id.
import type { Command } from "commander";
import { enqueueRebuildAll } from "../jobs/feed-rebuild.ts";
import { QUEUE } from "../jobs/queues.ts";
import { action, withRuntime } from "./context.ts";

export function registerFeeds(program: Command): void {
  const feeds = program.command("feeds").description("RSS, Atom and JSON feeds");
  feeds
    .command("rebuild")
    .description("rebuild every feed (global, per topic, region and language) through the queue")
    .action(
      action(async () => {
        await withRuntime(async (rt) => {
          const id = await enqueueRebuildAll(rt);
          process.stdout.write(`queued ${QUEUE.feeds} job ${id}: the workers rebuild every feed\n`);
        });
      }),
    );
}
