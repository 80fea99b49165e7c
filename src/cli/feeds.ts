// `herald feeds rebuild`: rebuild every feed through the queue (after a config change such as
// ORG_NAME, PUBLIC_URL, FEED_SIZE or WEBSUB_HUB, or on a cold cache). The workers do the work;
// this only queues it and prints the job id (--wait: and waits until they are done).
import type { Command } from "commander";
import { enqueueRebuildAll } from "../feeds/feed-rebuild.ts";
import { QUEUE } from "../jobs/queues.ts";
import { action, withRuntime } from "./context.ts";
import { timeoutOption, waitForJob } from "./wait.ts";

export function registerFeeds(program: Command): void {
  const feeds = program.command("feeds").description("RSS, Atom and JSON feeds");
  feeds
    .command("rebuild")
    .description("rebuild every feed (global, per topic, region and language) through the queue")
    .option("--wait", "wait until the workers have rebuilt every feed")
    .option(
      "--timeout <seconds>",
      "with --wait: give up when no worker has served the queue for this long",
      timeoutOption,
      10_000,
    )
    .action(
      action(async (o: { wait?: boolean; timeout: number }) => {
        await withRuntime(async (rt) => {
          const id = await enqueueRebuildAll(rt);
          process.stdout.write(`queued ${QUEUE.feeds} job ${id}: the workers rebuild every feed\n`);
          if (!o.wait) return;
          await waitForJob(rt, QUEUE.feeds, id, { noWorkerMs: o.timeout });
          process.stdout.write("every feed is rebuilt\n");
        });
      }),
    );
}
