// A full recount of the subscriber records, compared with every index and count the store keeps
// (status zsets and countByStatus, the {p}:subs zset, frequency sets, time-zone sets). Reads the
// keys directly, so a bug in the store's own readers cannot hide a bug in its writers.
import type { Runtime } from "../../src/runtime.ts";
import { FREQUENCIES, type Subscriber } from "../../src/subscribers/model.ts";
import { STATUSES, SubscriberStore } from "../../src/subscribers/store.ts";

export interface Audit {
  records: Subscriber[];
  /** Counts recomputed from the records. */
  expected: Record<string, number>;
  /** What countByStatus() answers. */
  counted: Record<string, number>;
  /** Every difference between an index and the records, one line each (empty = exact). */
  mismatches: string[];
}

async function scanKeys(rt: Runtime, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await rt.redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== "0");
  return out;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

function compare(mismatches: string[], what: string, actual: string[], expected: string[]): void {
  const a = new Set(actual);
  const e = new Set(expected);
  const extra = actual.filter((x) => !e.has(x));
  const missing = expected.filter((x) => !a.has(x));
  if (extra.length || missing.length)
    mismatches.push(
      `${what}: ${extra.length} extra (${extra.slice(0, 3).join(",")}), ${missing.length} missing (${missing.slice(0, 3).join(",")})`,
    );
}

export async function auditSubscribers(rt: Runtime): Promise<Audit> {
  const p = rt.config.prefix;
  const recordKeys = (await scanKeys(rt, `${p}:sub:*`)).filter((k) => !k.slice(`${p}:sub:`.length).includes(":"));
  const records = (await Promise.all(recordKeys.map((k) => rt.redis.get(k))))
    .filter((r): r is string => r !== null)
    .map((r) => JSON.parse(r) as Subscriber);
  const mismatches: string[] = [];

  const expected: Record<string, number> = {};
  for (const s of records) expected[s.status] = (expected[s.status] ?? 0) + 1;
  const counted = await new SubscriberStore(rt.redis, p).countByStatus();
  for (const st of STATUSES) {
    if ((counted[st] ?? 0) !== (expected[st] ?? 0))
      mismatches.push(`count ${st}: ${counted[st] ?? 0}, records say ${expected[st] ?? 0}`);
    compare(
      mismatches,
      `status zset ${st}`,
      await rt.redis.zrange(`${p}:subs:status:${st}`, "0", "-1"),
      records.filter((s) => s.status === st).map((s) => s.id),
    );
  }
  compare(
    mismatches,
    "subs zset",
    await rt.redis.zrange(`${p}:subs`, "0", "-1"),
    records.map((s) => s.id),
  );
  const confirmed = records.filter((s) => s.status === "confirmed");
  for (const f of FREQUENCIES) {
    compare(
      mismatches,
      `frequency set ${f}`,
      await rt.redis.smembers(`${p}:subs:${f}`),
      confirmed.filter((s) => s.frequency === f).map((s) => s.id),
    );
    if (f === "immediate") continue;
    const zones = new Set(await rt.redis.smembers(`${p}:subs:${f}:tzs`));
    for (const s of confirmed)
      if (s.frequency === f && !zones.has(s.timezone))
        mismatches.push(`zone ${s.timezone} of ${s.id} missing from ${f}:tzs`);
    for (const k of await scanKeys(rt, `${p}:subs:${f}:tz:*`)) {
      const zone = k.slice(`${p}:subs:${f}:tz:`.length);
      compare(
        mismatches,
        `zone set ${f}/${zone}`,
        await rt.redis.smembers(k),
        confirmed.filter((s) => s.frequency === f && s.timezone === zone).map((s) => s.id),
      );
    }
    for (const s of confirmed) {
      if (s.frequency === f && !(await rt.redis.sismember(`${p}:subs:${f}:tz:${s.timezone}`, s.id)))
        mismatches.push(`${s.id} missing from ${f}/${s.timezone}`);
    }
  }
  return { records, expected, counted, mismatches: sorted(new Set(mismatches)) };
}
