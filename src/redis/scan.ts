// SCAN that sees every key. On a Redis Cluster a SCAN sent through the cluster client reaches one
// node only, so maintenance that looks keys up by pattern (partner removal, the demo's clean-up)
// would miss what lives on the other masters. Here each master is walked in turn.
import type { Redis } from "ioredis";
import { masters } from "./connection.ts";

/** Batches of keys matching `match`, from every master. */
export async function* scanKeys(redis: Redis, match: string, count = 1000): AsyncGenerator<string[]> {
  for (const node of masters(redis)) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", match, "COUNT", count);
      cursor = next;
      if (keys.length) yield keys;
    } while (cursor !== "0");
  }
}

/** Every key matching `match`, from every master. */
export async function scanAll(redis: Redis, match: string): Promise<string[]> {
  const out: string[] = [];
  for await (const keys of scanKeys(redis, match)) out.push(...keys);
  return out;
}

/**
 * Deletes every key matching any of `patterns`, master by master; returns how many. Keys are
 * deleted one per command on the node that holds them: a multi-key DEL across slots is refused
 * by a cluster (CROSSSLOT), and a key found on a node lives there.
 */
export async function deleteMatching(redis: Redis, patterns: string[]): Promise<number> {
  let n = 0;
  for (const node of masters(redis)) {
    for (const match of patterns) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", match, "COUNT", 1000);
        cursor = next;
        if (keys.length) {
          const pipe = node.pipeline();
          for (const k of keys) pipe.unlink(k);
          const rows = (await pipe.exec()) ?? [];
          for (const [err, deleted] of rows) {
            // A key moved to another master meanwhile (resharding): that master's walk finds it.
            if (err && !/^(MOVED|ASK)\b/.test(err.message)) throw err;
            n += Number(deleted ?? 0);
          }
        }
      } while (cursor !== "0");
    }
  }
  return n;
}
