// The channel counters at /metrics move with real work: an email through a real SMTP server, a
// webhook to a real receiver, feed rebuilds and MJML renders.
import { afterEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { addPartner } from "../../src/partners/service.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { TEST_TOKEN } from "../helpers/http.ts";
import { addReader, type MailEnv, mailEnv, TEST_SECRET } from "../helpers/mail.ts";
import { parsePrometheus, sampleValue } from "../helpers/prometheus.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually } from "../helpers/runtime.ts";
import { type Receiver, startReceiver } from "../helpers/webhook-receiver.ts";

let env: MailEnv | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await env?.stop();
  await receiver?.close();
});

describe("channel metrics", () => {
  it("count emails, webhooks, feed rebuilds and MJML renders", async () => {
    env = await mailEnv({ label: "metrics-ch" });
    receiver = await startReceiver();
    const app = await buildApp(env.rt, { apiToken: TEST_TOKEN, secretKey: TEST_SECRET });
    const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
    receiver.route("/hook", { secret });
    const { partner } = await addPartner(env.rt, {
      name: "Wire",
      url: receiver.url("/hook"),
      secret,
      allowPrivate: true,
    });
    await addReader(env.rt, { email: "reader@example.org", frequency: "immediate", language: "en" });
    env.start([QUEUE.releaseEvents, QUEUE.alerts, QUEUE.emails, QUEUE.partners, QUEUE.feeds]);

    await new ReleaseService(env.rt).publish(sampleRelease({ id: "counted", publishedAt: "2026-11-28T09:00:00Z" }));
    await eventually(
      () => env!.smtp.messages.length === 1 && receiver!.delivered().length === 1,
      20_000,
      "the email and the webhook",
    );

    const metrics = await eventually(
      async () => {
        const s = parsePrometheus((await app.inject("/metrics")).body);
        const moved = [
          sampleValue(s, "herald_feed_rebuilds_total", { kind: "all" }),
          sampleValue(s, "herald_feed_rebuilds_total", { kind: "topics" }),
          sampleValue(s, "herald_webhooks_delivered_total", { partner: partner.id }),
          sampleValue(s, "herald_emails_sent_total", { kind: "alert" }),
        ];
        return moved.every((v) => (v ?? 0) >= 1) ? s : null;
      },
      15_000,
      "the counters",
    );
    expect(sampleValue(metrics, "herald_emails_sent_total", { kind: "alert" })).toBe(1);
    expect(sampleValue(metrics, "herald_mjml_renders_total")).toBe(1);
    expect(sampleValue(metrics, "herald_webhooks_delivered_total", { partner: partner.id })).toBe(1);
    expect(sampleValue(metrics, "herald_feed_rebuild_seconds_total", { kind: "topics" })).toBeGreaterThan(0);
    await app.close();
  });
});
