// Reader shards: the per-reader data (subscriber records and indexes, digest cursors, ledgers,
// leases, reader numbers and the bitmaps by those numbers) split into REDIS_SHARDS buckets, each
// its own hash tag, so on a Redis Cluster the readers spread over the masters instead of all
// sitting on the one slot of HERALD_PREFIX.
//   one shard      `{prefix}:part…`            the names Herald always used (a single Redis and
//                                              Sentinel keep their data as it is)
//   N > 1 shards   `{stem:s07}:part…`          stem: the prefix without its braces
// A reader's shard is a hash of its id (FNV-1a, mod N). The id is itself a hash of the address
// (subscribers/store.ts subscriberId), so "one reader per address" needs no global index: the
// address alone gives the id, the id the shard. Everything one atomic step touches for a reader
// (its record, status zset entry, frequency and time-zone index entries, cursor, ledger bit or
// member, lease, number) is in the reader's shard; a step never spans two shards, and work over
// many readers (counts, digest planning, alert fan-out) is done shard by shard.
// The number of shards is fixed for the life of the data: runtime.ts records it in
// `{prefix}:shards` and refuses to start with another (moving readers is not supported).
import { type KeyBuilder, keyBuilder } from "./keys.ts";

export class Shards {
  private readonly builders: KeyBuilder[];

  constructor(
    prefix: string,
    readonly n = 1,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`shards: ${n} is not a whole number of at least 1`);
    const stem = prefix.replace(/[{}]/g, "");
    this.builders = Array.from({ length: n }, (_, i) =>
      n === 1 ? keyBuilder(prefix) : keyBuilder(`{${stem}:s${String(i).padStart(2, "0")}}`),
    );
  }

  /** The shard of a reader id. */
  of(id: string): number {
    if (this.n === 1) return 0;
    // FNV-1a (32 bits): cheap, and the same in every process and version.
    let h = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) {
      h ^= id.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0) % this.n;
  }

  /** A key of shard `shard`. */
  key(shard: number, ...parts: string[]): string {
    return this.builders[shard]!(...parts);
  }

  /** A key in the shard of reader `id`. */
  keyOf(id: string, ...parts: string[]): string {
    return this.key(this.of(id), ...parts);
  }

  /** 0 … n-1 */
  all(): number[] {
    return Array.from({ length: this.n }, (_, i) => i);
  }

  /** Ids grouped by shard, with each id's index in `ids`. */
  group(ids: string[]): Map<number, { ids: string[]; at: number[] }> {
    const out = new Map<number, { ids: string[]; at: number[] }>();
    ids.forEach((id, i) => {
      const s = this.of(id);
      const g = out.get(s) ?? { ids: [], at: [] };
      g.ids.push(id);
      g.at.push(i);
      out.set(s, g);
    });
    return out;
  }

  /**
   * Answers for `ids` in order, from one call per shard (`fn` gets that shard's ids and answers
   * for them in order). The calls run at once: on a cluster they go to different masters.
   */
  async map<T>(ids: string[], fn: (shard: number, ids: string[]) => Promise<T[]>): Promise<T[]> {
    const out = new Array<T>(ids.length);
    await Promise.all(
      [...this.group(ids)].map(async ([shard, g]) => {
        const r = await fn(shard, g.ids);
        g.at.forEach((i, j) => {
          out[i] = r[j]!;
        });
      }),
    );
    return out;
  }

  /** Readers sorted by shard, then id: batches cut from this touch as few shards as possible. */
  sorted(ids: string[]): string[] {
    if (this.n === 1) return [...ids].sort();
    return ids
      .map((id) => [this.of(id), id] as const)
      .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
      .map(([, id]) => id);
  }
}
