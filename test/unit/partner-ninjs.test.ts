// Every webhook variant validates against the official IPTC ninjs 3.1 schema (Ajv, draft 2020-12).
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { ReleaseEvent } from "../../src/vocabulary.ts";
import { buildEnvelope, signatureHeaders, webhookId } from "../../src/partners/envelope.ts";
import { generateSecret, isWebhookSecret } from "../../src/partners/model.ts";
import { toNinjs } from "../../src/partners/ninjs.ts";
import type { Release } from "../../src/releases/model.ts";
import { buildRelease, parseReleaseInput } from "../../src/releases/service.ts";

const schema = JSON.parse(readFileSync(new URL("../fixtures/schemas/ninjs-schema_3.1.json", import.meta.url), "utf8"));
// ajv-formats is CommonJS; its default export is the function under NodeNext interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;
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
    contacts: [
      { name: "Amina Idriss", office: "IOM Djibouti", phone: "+253 21 00 00 00", email: "aidriss@example.org" },
    ],
    image: { url: "https://www.iom.int/img/training.jpg", alt: "Officials in a classroom" },
    createdAt: "2026-11-20T08:00:00.000Z",
    updatedAt: "2026-11-20T08:00:00.000Z",
    ...overrides,
  };
}

const variants: [string, Release, ReleaseEvent][] = [
  ["published, with image and contacts", release(), "published"],
  [
    "published, without image, contacts, summary, url or dateline",
    release({
      image: undefined,
      contacts: [],
      summary: undefined,
      url: undefined,
      dateline: undefined,
      topics: [],
      regions: [],
    }),
    "published",
  ],
  [
    "updated with a correction note",
    release({ revision: 2, correction: "Corrected the number of officials", updatedAt: "2026-11-21T10:00:00.000Z" }),
    "updated",
  ],
  [
    "withdrawn",
    release({
      revision: 3,
      status: "withdrawn",
      withdrawnAt: "2026-11-22T10:00:00.000Z",
      updatedAt: "2026-11-22T10:00:00.000Z",
    }),
    "withdrawn",
  ],
  [
    "embargoed",
    release({ status: "embargoed", embargoUntil: "2026-12-01T06:00:00.000Z", publishedAt: "2026-12-01T06:00:00.000Z" }),
    "embargoed",
  ],
  [
    "embargoed without image or contacts",
    release({ status: "embargoed", embargoUntil: "2026-12-01T06:00:00.000Z", image: undefined, contacts: [] }),
    "embargoed",
  ],
  [
    "a contact with a name only, urgent, a translation",
    release({
      contacts: [{ name: "Press Office" }],
      urgent: true,
      language: "fr",
      translationOf: "border-training-en",
    }),
    "published",
  ],
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
      // The publication (09:00), not the 08:00 store time: revision 1 is the publication itself.
      firstCreated: "2026-11-20T09:00:00.000Z",
      versionCreated: "2026-11-20T09:00:00.000Z",
      pubStatus: "usable",
      language: "en",
      located: "Djibouti",
      headlines: [{ role: "main", value: "Border Officials Trained in Victim Identification" }],
      descriptions: [{ role: "summary", value: "A three-day course for border officials." }],
      // From the vocabulary: IPTC Media Topic and GeoNames URIs, the topic slug and the ISO code.
      subjects: [
        {
          name: "Counter-trafficking",
          rel: "about",
          literal: "counter-trafficking",
          uri: "http://cv.iptc.org/newscodes/mediatopic/20000082",
        },
      ],
      places: [{ name: "Djibouti", rel: "about", literal: "DJ", uri: "https://sws.geonames.org/223816/" }],
      renditions: [{ name: "web", href: "https://www.iom.int/news/border-training", contentType: "text/html" }],
    });
    expect(n.bodies?.map((b) => b.contentType)).toEqual(["text/html", "text/plain"]);
    expect(n.people?.[0]?.contactInfo?.map((c) => c.type)).toEqual(["office", "email", "phone"]);
    expect(n.associations?.[0]).toMatchObject({
      name: "featureimage",
      type: "picture",
      uri: "https://www.iom.int/img/training.jpg",
    });
    expect(n.embargoedUntil).toBeUndefined();
    expect(
      toNinjs(release({ status: "embargoed", embargoUntil: "2026-12-01T06:00:00.000Z" }), "embargoed", opts)
        .embargoedUntil,
    ).toBe("2026-12-01T06:00:00.000Z");
    expect(toNinjs(release({ status: "withdrawn" }), "withdrawn", opts).pubStatus).toBe("canceled");
  });

  it("names subjects and places in the release's language; a Herald-only region keeps its feed URI", () => {
    const n = toNinjs(release({ language: "fr", regions: ["djibouti", "east-and-horn-of-africa"] }), "published", opts);
    expect(n.subjects).toEqual([
      {
        name: "Lutte contre la traite",
        rel: "about",
        literal: "counter-trafficking",
        uri: "http://cv.iptc.org/newscodes/mediatopic/20000082",
      },
    ]);
    expect(n.places).toEqual([
      { name: "Djibouti", rel: "about", literal: "DJ", uri: "https://sws.geonames.org/223816/" },
      {
        name: "Afrique de l’Est et Corne de l’Afrique",
        rel: "about",
        literal: "east-and-horn-of-africa",
        uri: "https://news.example.org/feeds/regions/east-and-horn-of-africa/",
      },
    ]);
    expect(validate(n)).toBe(true);
  });
});

describe("ninjs dates (README: Dates)", () => {
  // Built the way the service stores them, at a given store time, then mapped and validated.
  const stored = (input: Record<string, unknown>, now: string, previous: Release | null = null, correction?: string) =>
    buildRelease(
      parseReleaseInput({
        id: "dated",
        title: "Officials trained",
        body: "<p>Forty border officials were trained.</p>",
        ...input,
      }),
      "dated",
      (previous?.revision ?? 0) + 1,
      Date.parse(now),
      previous,
      correction,
    );
  const valid = (n: ReturnType<typeof toNinjs>) => {
    expect(validate(n), JSON.stringify(validate.errors)).toBe(true);
    return n;
  };

  it("a release published on 24 November and imported on 30 November carries 24 November", () => {
    const n = valid(
      toNinjs(stored({ publishedAt: "2026-11-24T09:00:00Z" }, "2026-11-30T15:00:00Z"), "published", opts),
    );
    expect(n.firstCreated).toBe("2026-11-24T09:00:00.000Z");
    expect(n.versionCreated).toBe("2026-11-24T09:00:00.000Z");
  });

  it("an embargoed release: versionCreated is not before its publication, embargoedUntil is the lift", () => {
    const r = stored(
      { publishedAt: "2026-11-30T08:00:00Z", embargoUntil: "2026-12-01T06:00:00Z" },
      "2026-11-30T10:00:00Z",
    );
    expect(r.status).toBe("embargoed");
    for (const event of ["embargoed", "published"] as const) {
      const n = valid(toNinjs(event === "published" ? { ...r, status: "published" } : r, event, opts));
      expect(n.firstCreated).toBe("2026-12-01T06:00:00.000Z");
      expect(Date.parse(n.versionCreated!)).toBeGreaterThanOrEqual(Date.parse(n.firstCreated!));
      if (event === "embargoed") expect(n.embargoedUntil).toBe("2026-12-01T06:00:00.000Z");
      else expect(n.embargoedUntil).toBeUndefined();
    }
    // A correction made while still under embargo is not news to anyone: still the lift time.
    const r2 = stored(
      { publishedAt: "2026-11-30T08:00:00Z", embargoUntil: "2026-12-01T06:00:00Z", title: "Officials trained (fixed)" },
      "2026-11-30T11:00:00Z",
      r,
      "typo",
    );
    expect(valid(toNinjs(r2, "embargoed", opts)).versionCreated).toBe("2026-12-01T06:00:00.000Z");
  });

  it("an update sets versionCreated to the update time and keeps firstCreated", () => {
    const r1 = stored({ publishedAt: "2026-11-24T09:00:00Z" }, "2026-11-30T15:00:00Z");
    const r2 = stored(
      { publishedAt: "2026-11-24T09:00:00Z", title: "Officials trained (corrected)" },
      "2026-12-02T07:30:00Z",
      r1,
      "Corrected the title",
    );
    const n = valid(toNinjs(r2, "updated", opts));
    expect(n.version).toBe("2");
    expect(n.firstCreated).toBe("2026-11-24T09:00:00.000Z");
    expect(n.versionCreated).toBe("2026-12-02T07:30:00.000Z");
  });

  it("a title with a bracketed word keeps it as text", () => {
    const n = valid(toNinjs(stored({ title: "Call for <Test> entries" }, "2026-11-30T15:00:00Z"), "published", opts));
    expect(n.title).toBe("Call for <Test> entries");
    expect(n.headlines?.[0]?.value).toBe("Call for <Test> entries");
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
