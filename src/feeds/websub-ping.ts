// websub processor: tells the hub (WEBSUB_HUB) that feed URLs changed, so subscribers get the
// new entries pushed instead of waiting for their next poll (WebSub §7, the common publish
// form: hub.mode=publish, hub.url=…, one request per URL). A hub error or timeout throws, and
// BullMQ retries with the queue's backoff; a 4xx other than 408/429 means the hub refuses this
// request, which no retry will change. Pinging twice is harmless: the hub re-fetches.
import { type Job, UnrecoverableError } from "bullmq";
import type { Runtime } from "../runtime.ts";
import type { WebsubJob } from "../jobs/queues.ts";

export const WEBSUB_TIMEOUT_MS = 10_000;

export async function processWebsubPing(job: Job<WebsubJob>, rt: Pick<Runtime, "config">): Promise<string> {
  const hub = rt.config.websubHub;
  if (!hub) return "no WEBSUB_HUB configured: nothing to do";
  for (const url of job.data.urls) await publish(hub, url);
  return `pinged ${hub} for ${job.data.urls.length} URL(s)`;
}

async function publish(hub: string, url: string): Promise<void> {
  const res = await fetch(hub, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "Herald (WebSub publisher)" },
    body: new URLSearchParams({ "hub.mode": "publish", "hub.url": url }).toString(),
    signal: AbortSignal.timeout(WEBSUB_TIMEOUT_MS),
    redirect: "error",
  });
  await res.body?.cancel();
  if (res.ok) return;
  const message = `WebSub hub ${hub} answered ${res.status} for ${url}`;
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
    throw new UnrecoverableError(`${message}; check WEBSUB_HUB`);
  }
  throw new Error(message);
}
