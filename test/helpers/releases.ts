// Sample releases for tests: our own text, shaped like the seed page.
import type { ReleaseInput } from "../../src/releases/model.ts";

let n = 0;
export function sampleRelease(overrides: Partial<ReleaseInput> = {}): ReleaseInput {
  n += 1;
  return {
    title: `Border Officials Trained in Victim Identification ${n}`,
    summary: "A three-day course for border officials on identifying and referring victims of trafficking.",
    body: "<p>IOM this week trained forty border officials.</p><p>The course covered identification and referral.</p>",
    dateline: "Djibouti",
    publishedAt: "2026-11-20T09:00:00Z",
    language: "en",
    topics: ["counter-trafficking"],
    regions: ["djibouti"],
    contacts: [
      { name: "Amina Idriss", office: "IOM Djibouti", phone: "+253 21 00 00 00", email: "aidriss@example.org" },
    ],
    ...overrides,
  };
}
