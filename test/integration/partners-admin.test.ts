// Adding partners (CLI service and API), the SSRF refusals at add time, filters and embargo
// access in the fan-out, the list and the status section. No workers: the queue is inspected.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatPartnerList } from "../../src/cli/partners.ts";
import { collectStatus, formatStatus } from "../../src/cli/status.ts";
import { QUEUE } from "../../src/jobs/queues.ts";
import { queuePartnerDeliveries } from "../../src/partners/fanout.ts";
import { addPartner, listPartners, partnerStore, removePartner, replayPartner } from "../../src/partners/service.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { auth, testApp } from "../helpers/http.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { type TestRuntime, testRuntime } from "../helpers/runtime.ts";

let rt: TestRuntime;
beforeEach(async () => {
  rt = await testRuntime({ label: "padm" });
});
afterEach(() => rt.destroy());

const local = (path = "/hook") => `http://127.0.0.1:9${path}`;

describe("adding partners", () => {
  it("generates a whsec_ secret once and never shows it again", async () => {
    const r = await addPartner(rt, { name: "UN News", url: "https://93.184.216.34/hooks/herald" });
    expect(r.generatedSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(r.partner.id).toMatch(/^un-news-[0-9a-f]{6}$/);
    expect(r.partner).not.toHaveProperty("secret");
    const rows = await listPartners(rt);
    expect(JSON.stringify(rows)).not.toContain(r.generatedSecret!);
    expect(formatPartnerList(rows)).not.toContain("whsec_");
    expect((await partnerStore(rt).get(r.partner.id))?.secret).toBe(r.generatedSecret);
  });

  it("keeps a given secret and refuses a malformed one", async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
    const r = await addPartner(rt, { name: "Agency", url: local(), secret, allowPrivate: true });
    expect(r.generatedSecret).toBeUndefined();
    await expect(
      addPartner(rt, { name: "Bad", url: local(), secret: "hunter2", allowPrivate: true }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it.each([
    ["http://93.184.216.34/", /https/],
    ["https://localhost:8443/", /localhost resolves to .*loopback/],
    ["https://0x7f.1/", /address 127\.0\.0\.1 is loopback/],
    ["https://2130706433/", /address 127\.0\.0\.1 is loopback/],
    ["https://017700000001/", /address 127\.0\.0\.1 is loopback/],
    ["https://[::ffff:127.0.0.1]/", /loopback/],
    ["https://[::1]/", /loopback/],
    ["https://169.254.169.254/latest/meta-data", /linkLocal/],
    ["https://10.0.0.8/", /private/],
    ["https://[fd12::1]/", /uniqueLocal/],
    ["https://100.64.1.1/", /carrierGradeNat/],
    ["https://0.0.0.0/", /unspecified/],
  ])("refuses %s without --allow-private and stores nothing", async (url, why) => {
    await expect(addPartner(rt, { name: "Inside", url })).rejects.toThrow(why);
    expect(await listPartners(rt)).toEqual([]);
  });

  it("allows private addresses and http with allowPrivate", async () => {
    await expect(
      addPartner(rt, { name: "Intranet", url: "http://localhost:8080/in", allowPrivate: true }),
    ).resolves.toBeTruthy();
  });

  it("remove deletes the partner; an unknown id is a 404", async () => {
    const r = await addPartner(rt, { name: "Temp", url: local(), allowPrivate: true });
    await removePartner(rt, r.partner.id);
    expect(await listPartners(rt)).toEqual([]);
    await expect(removePartner(rt, r.partner.id)).rejects.toMatchObject({ status: 404 });
    await expect(replayPartner(rt, "nope")).rejects.toMatchObject({ status: 404 });
  });
});

describe("POST /api/partners", () => {
  it("adds a partner (201, secret shown once), guards the token, lists problems", async () => {
    const app = await testApp(rt);
    try {
      const ok = await app.inject({
        method: "POST",
        url: "/api/partners",
        headers: auth,
        payload: { name: "Wire", url: "https://93.184.216.34/in", topics: ["health"] },
      });
      expect(ok.statusCode).toBe(201);
      expect(ok.json()).toMatchObject({
        name: "Wire",
        topics: ["health"],
        status: "active",
        secret: expect.stringMatching(/^whsec_/),
      });
      const noToken = await app.inject({
        method: "POST",
        url: "/api/partners",
        payload: { name: "Wire", url: "https://93.184.216.34/in" },
      });
      expect(noToken.statusCode).toBe(401);
      const bad = await app.inject({
        method: "POST",
        url: "/api/partners",
        headers: auth,
        payload: { url: "https://93.184.216.34/in", languages: ["xx"] },
      });
      expect(bad.statusCode).toBe(400);
      expect(
        bad
          .json()
          .issues.map((i: { path: string }) => i.path)
          .sort(),
      ).toEqual(["languages.0", "name"]);
      const inside = await app.inject({
        method: "POST",
        url: "/api/partners",
        headers: auth,
        payload: { name: "Meta", url: "https://169.254.169.254/" },
      });
      expect(inside.statusCode).toBe(400);
      expect(inside.json().error).toMatch(/linkLocal/);
      expect(await listPartners(rt)).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});

describe("fan-out to partners", () => {
  const jobs = async () =>
    (await rt.queues[QUEUE.partners].getJobs(["waiting", "delayed"]))
      .filter((j) => j.name === "deliver")
      .map(
        (j) =>
          `${j.data.partnerId.replace(/-[0-9a-f]{6}$/, "")} ${j.data.releaseId} r${j.data.revision} ${j.data.event}`,
      )
      .sort();

  it("applies topic, region and language filters, and embargo access", async () => {
    const add = (name: string, extra = {}) => addPartner(rt, { name, url: local(), allowPrivate: true, ...extra });
    await add("all");
    await add("health", { topics: ["health"] });
    await add("djibouti", { regions: ["djibouti"] });
    await add("french", { languages: ["fr"] });
    await add("early", { embargoAccess: true, topics: ["health"] });
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "h-dj", topics: ["health"], regions: ["djibouti"] }));
    await svc.publish(sampleRelease({ id: "fr-news", language: "fr", topics: ["migration-data"], regions: ["niger"] }));
    await svc.publish(
      sampleRelease({ id: "emb", topics: ["health"], regions: ["niger"], embargoUntil: "2099-01-01T00:00:00Z" }),
    );
    for (const e of [
      { releaseId: "h-dj", revision: 1, event: "published" as const },
      { releaseId: "fr-news", revision: 1, event: "published" as const },
      { releaseId: "emb", revision: 1, event: "embargoed" as const },
    ]) {
      await queuePartnerDeliveries(rt, e);
      await queuePartnerDeliveries(rt, e); // twice: queues nothing twice
    }
    expect(await jobs()).toEqual([
      "all fr-news r1 published",
      "all h-dj r1 published",
      "djibouti h-dj r1 published",
      "early emb r1 embargoed",
      "early h-dj r1 published",
      "french fr-news r1 published",
      "health h-dj r1 published",
    ]);
  });

  it("a correction that moves a release out of a partner's topics still reaches that partner", async () => {
    const p = await addPartner(rt, { name: "health", url: local(), allowPrivate: true, topics: ["health"] });
    const svc = new ReleaseService(rt);
    await svc.publish(sampleRelease({ id: "moving", topics: ["health"] }));
    await svc.update("moving", sampleRelease({ topics: ["counter-trafficking"] }));
    expect(await queuePartnerDeliveries(rt, { releaseId: "moving", revision: 2, event: "updated" })).toEqual({
      partners: [p.partner.id],
    });
    await svc.publish(sampleRelease({ id: "never-health", topics: ["counter-trafficking"] }));
    expect(await queuePartnerDeliveries(rt, { releaseId: "never-health", revision: 1, event: "published" })).toEqual({
      partners: [],
    });
  });
});

describe("partners in herald status", () => {
  it("shows counts and every partner with its state and dead letters", async () => {
    const a = await addPartner(rt, { name: "Ok", url: local(), allowPrivate: true });
    const b = await addPartner(rt, { name: "Broken", url: local(), allowPrivate: true });
    const store = partnerStore(rt);
    await store.addDeadLetter(b.partner.id, {
      releaseId: "x",
      revision: 1,
      event: "published",
      webhookId: "msg_x_r1_published",
      status: 500,
      error: "answered 500",
      attempts: 10,
      at: "2026-11-28T10:00:00.000Z",
    });
    await store.setStatus(a.partner.id, "disabled", "410 Gone", "2026-11-28T10:00:00.000Z");
    const s = await collectStatus(rt);
    expect(s.partners).toMatchObject({ active: 1, disabled: 1, deadLetters: 1 });
    const text = formatStatus(s);
    expect(text).toContain("partners: 1 active, 1 disabled, 1 dead letter(s)");
    expect(text).toContain(
      `${b.partner.id} Broken: active, no delivery yet, 1 dead letter(s) (herald partners replay ${b.partner.id} --dead-letters)`,
    );
    expect(text).toContain(`${a.partner.id} Ok: disabled (410 Gone), no delivery yet`);
    expect(formatPartnerList(await listPartners(rt))).toMatch(/disabled: 410 Gone/);
  });
});
