// Every webhook variant validates against the official IPTC ninjs 3.1 schema (Ajv, draft 2020-12).
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { ReleaseEvent } from "../../src/jobs/queues.ts";
import { buildEnvelope, signatureHeaders, webhookId } from "../../src/partners/envelope.ts";
import { generateSecret, isWebhookSecret } from "../../src/partners/model.ts";
import { toNinjs } from "../../src/partners/ninjs.ts";
import type { Release } from "../../src/releases/model.ts";

const schema = JSON.parse(readFileSync(new URL("../fixtures/schemas/ninjs-schema_3.1.json", import.meta.url), "utf8"));
// ajv-formats is CommonJS; its default export is the function under NodeNext interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
// places[].geoJSON refers to the external GeoJSON schema; Herald never sends geoJSON, so any object stands in for it.
ajv.addSchema({ $id: "https://geojson.org/schema/GeoJSON.json", type: "object" });
const validate = ajv.compile(schema);

const opts = { publicUrl: "https://news.example.org", orgName: "International Organization for Migration" };

function release(overrides: Partial<Release> = {}): Release {
  return {
    id: "border-training",
    revision: 1,
    status: "published",
    title: "Border Officials Trained in Victim Identification",
    summary: "A three-day course for border officials.",
    bodyHtml: "<p>IOM this week trained forty border officials.</p>",
    bodyText: "IOM this week trained forty border officials.",
    dateline: "Djibouti",
    publishedAt: "2026-11-20T09:00:00.000Z",
    language: "en",
    topics: ["counter-trafficking"],
    regions: ["djibouti"],
    urgent: false,
    url: "https://www.iom.int/news/border-training",
    contacts: [{ name: "Amina Idriss", office: "IOM Djibouti", phone: "+253 21 00 00 00", email: "aidriss@example.org" }],
    image: { url: "https://www.iom.int/img/training.jpg", alt: "Officials in a classroom" },
    createdAt: "2026-11-20T08:00:00.000Z",
    updatedAt: "2026-11-20T08:00:00.000Z",
    ...overrides,
  };
}

const variants: [string, Release, ReleaseEvent][] = [
  ["published, with image and contacts", release(), "published"],
  ["published, without image, contacts, summary, url or dateline", release({ image: undefined, contacts: [], summary: undefined, url: undefined, dateline: undefined, topics: [], regions: [] }), "published"],
  ["updated with a correction note", release({ revision: 2, correction: "Corrected the number of officials", updatedAt: "2026-11-21T10:00:00.000Z" }), "updated"],
  ["withdrawn", release({ revision: 3, status: "withdrawn", withdrawnAt: "2026-11-22T10:00:00.000Z", updatedAt: "2026-11-22T10:00:00.000Z" }), "withdrawn"],
  ["embargoed", release({ status: "embargoed", embargoUntil: "2026-12-01T06:00:00.000Z", publishedAt: "2026-12-01T06:00:00.000Z" }), "embargoed"],
  ["embargoed without image or contacts", release({ status: "embargoed", embargoUntil: "2026-12-01T06:00:00.000Z", image: undefined, contacts: [] }), "embargoed"],
  ["a contact with a name only, urgent, a translation", release({ contacts: [{ name: "Press Office" }], urgent: true, language: "fr", translationOf: "border-training-en" }), "published"],
];

describe("ninjs 3.1 mapping", () => {
  it.each(variants)("%s validates against the official schema", (_name, r, event) => {
    const envelope = buildEnvelope(r, event, opts);
    const ok = validate(envelope.data);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
    expect(envelope.type).toBe(`release.${event}`);
  });

  it("the schema validator can fail (an unknown property is refused)", () => {
    expect(validate({ ...toNinjs(release(), "published", opts), embargoed: true })).toBe(false);
    expect(validate({ type: "text" })).toBe(false); // uri is required
  });

  it("maps the release's fields", () => {
    const n = toNinjs(release(), "published", opts);
    expect(n).toMatchObject({
      uri: "https://news.example.org/releases/border-training",
      type: "text",
      version: "1",
      firstCreated: "2026-11-20T08:00:00.000Z",
      versionCreated: "2026-11-20T08:00:00.000Z",
      pubStatus: "usable",
      language: "en",
      located: "Djibouti",
      headlines: [{ role: "main", value: "Border Officials Trained in Victim Identification" }],
      descriptions: [{ role: "summary", value: "A three-day course for border officials." }],
      subjects: [{ name: "Counter Trafficking", literal: "counter-trafficking", uri: "https://news.example.org/feeds/topics/counter-trafficking/" }],
      places: [{ name: "Djibouti", literal: "djibouti", uri: "https://news.example.org/feeds/regions/djibouti/" }],
      renditions: [{ name: "web", href: "https://www.iom.int/news/border-training", contentType: "text/html" }],
    });
    expect(n.bodies?.map((b) => b.contentType)).toEqual(["text/html", "text/plain"]);
    expect(n.people?.[0]?.contactInfo?.map((c) => c.type)).toEqual(["office", "email", "phone"]);
    expect(n.associations?.[0]).toMatchObject({ name: "featureimage", type: "picture", uri: "https://www.iom.int/img/training.jpg" });
    expect(n.embargoedUntil).toBeUndefined();
    expect(toNinjs(release({ status: "embargoed", embargoUntil: "2026-12-01T06:00:00.000Z" }), "embargoed", opts).embargoedUntil).toBe("2026-12-01T06:00:00.000Z");
    expect(toNinjs(release({ status: "withdrawn" }), "withdrawn", opts).pubStatus).toBe("canceled");
  });
});

describe("envelope and signature", () => {
  it("signs with Standard Webhooks; the library verifies it and rejects a tampered body", () => {
    const secret = generateSecret();
    expect(isWebhookSecret(secret)).toBe(true);
    const body = JSON.stringify(buildEnvelope(release(), "published", opts));
    const id = webhookId({ releaseId: "border-training", revision: 1, event: "published" });
    const headers = signatureHeaders(secret, id, Date.now(), body);
    expect(headers["webhook-id"]).toBe("msg_border-training_r1_published");
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ type: "release.published" });
    expect(() => new Webhook(secret).verify(body.replace("forty", "fifty"), headers)).toThrow();
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it("the event time is stable: an embargo lift is timed at the embargo", () => {
    const r = release({ publishedAt: "2026-12-01T06:00:00.000Z", updatedAt: "2026-11-20T08:00:00.000Z" });
    expect(buildEnvelope(r, "published", opts).timestamp).toBe("2026-12-01T06:00:00.000Z");
    expect(buildEnvelope(r, "embargoed", opts).timestamp).toBe("2026-11-20T08:00:00.000Z");
  });

  it("refuses secrets that are not whsec_ + 24..64 bytes", () => {
    expect(isWebhookSecret("whsec_short")).toBe(false);
    expect(isWebhookSecret(`whsec_${Buffer.alloc(24).toString("base64")}`)).toBe(true);
    expect(isWebhookSecret(`sk_${Buffer.alloc(24).toString("base64")}`)).toBe(false);
  });
});
