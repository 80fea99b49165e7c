// The partners channel: every release event, embargoed ones included, becomes one "fanout"
// job on the partners queue (fanout.ts finds the matching partners, deliver.ts signs and POSTs).
import type { Channel } from "../channel.ts";
import { jobId, type PartnerFanoutJob, QUEUE } from "../jobs/queues.ts";
import { partnerWorkerOptions, processPartnerJob } from "./processor.ts";

export const partnersChannel: Channel<{ partners: boolean }> = {
  name: "partners",
  idle: { partners: false },
  async onReleaseEvent(rt, { event: e }) {
    const p: PartnerFanoutJob = { releaseId: e.releaseId, revision: e.revision, event: e.event };
    await rt.queues[QUEUE.partners].add("fanout", p, { jobId: jobId.partnerFanout(p) });
    return { partners: true };
  },
  processors: { [QUEUE.partners]: { process: processPartnerJob, options: partnerWorkerOptions } },
};
