// Every repeating job, upserted from this one place at start-up (upserting is idempotent, so
// several worker processes starting at once still leave one scheduler per name).
import type { Runtime } from "../runtime.ts";
import { QUEUE } from "./queues.ts";

export async function upsertSchedules(rt: Pick<Runtime, "queues">): Promise<void> {
  // Hourly: each hour some time zones reach DIGEST_HOUR (see digests.ts).
  await rt.queues[QUEUE.digests].upsertJobScheduler(
    "digest-hourly",
    { pattern: "0 * * * *" },
    { name: "tick", data: {} },
  );
  // Hourly, off the hour: erase readers who stayed pending past PENDING_EXPIRY_DAYS.
  await rt.queues[QUEUE.digests].upsertJobScheduler(
    "pending-expiry",
    { pattern: "30 * * * *" },
    { name: "expire-pending", data: {} },
  );
}
