// Many confirmed daily readers written straight to the store (no opt-in emails): for crash
// tests and the digest benchmark. Language x topic spreads them over 3 x `topics` segments.
import type { Language } from "../../src/i18n/languages.ts";
import type { Subscriber } from "../../src/subscribers/model.ts";
import { type SubscriberStore, subscriberId } from "../../src/subscribers/store.ts";

const LANGS: Language[] = ["en", "fr", "es"];

export async function seedDailyReaders(
  store: SubscriberStore,
  count: number,
  o: { topics: number; since: string; emailOf: (j: number) => string; chunk?: number },
): Promise<void> {
  const chunk = o.chunk ?? 1000;
  for (let i = 0; i < count; i += chunk) {
    const items: { next: Subscriber; previous: null }[] = [];
    for (let j = i; j < Math.min(count, i + chunk); j++) {
      const email = o.emailOf(j);
      items.push({
        next: {
          id: subscriberId(email),
          email,
          name: `Reader ${j}`,
          language: LANGS[j % 3]!,
          topics: [`topic-${Math.floor(j / 3) % o.topics}`],
          regions: [],
          frequency: "daily",
          timezone: "UTC",
          status: "confirmed",
          createdAt: o.since,
          updatedAt: o.since,
          confirmedAt: o.since,
        },
        previous: null,
      });
    }
    await store.saveMany(items);
  }
}
