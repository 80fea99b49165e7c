// Redis settings Herald depends on: queues and ledgers must never be evicted (noeviction), and
// should survive a restart (AOF or RDB). Read from INFO, which managed services allow. On a
// Redis Cluster every master is asked: each holds some of the queues.
import type { Redis } from "ioredis";
import { clusterOf, masters } from "./connection.ts";

export interface RedisSettings {
  version: string;
  maxmemoryPolicy: string;
  aofEnabled: boolean;
  rdbSaves: boolean;
  problems: string[];
}

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim();
}

export async function inspectRedis(redis: Redis): Promise<RedisSettings> {
  if (!clusterOf(redis)) return inspectNode(redis);
  const nodes = masters(redis);
  const all = await Promise.all(nodes.map(inspectNode));
  const name = (n: Redis) => `${n.options.host}:${n.options.port}`;
  const policies = [...new Set(all.map((x) => x.maxmemoryPolicy))];
  return {
    version: [...new Set(all.map((x) => x.version))].join(", "),
    maxmemoryPolicy: policies.join(", "),
    aofEnabled: all.every((x) => x.aofEnabled),
    rdbSaves: all.every((x) => x.rdbSaves),
    problems: all.flatMap((x, i) => x.problems.map((p) => `master ${name(nodes[i]!)}: ${p}`)),
  };
}

async function inspectNode(redis: Redis): Promise<RedisSettings> {
  const [server, memory, persistence] = await Promise.all([
    redis.info("server"),
    redis.info("memory"),
    redis.info("persistence"),
  ]);
  const maxmemoryPolicy = infoField(memory, "maxmemory_policy") ?? "unknown";
  const aofEnabled = infoField(persistence, "aof_enabled") === "1";
  let rdbSaves = false;
  try {
    const save = (await redis.config("GET", "save")) as string[];
    rdbSaves = Boolean(save[1]?.trim());
  } catch {
    rdbSaves =
      infoField(persistence, "rdb_last_save_time") !== undefined &&
      infoField(persistence, "rdb_changes_since_last_save") !== undefined;
  }
  const problems: string[] = [];
  if (maxmemoryPolicy !== "noeviction") {
    problems.push(
      `maxmemory-policy is ${maxmemoryPolicy}: Redis may evict queued jobs and send ledgers; set it to noeviction`,
    );
  }
  if (!aofEnabled && !rdbSaves) {
    problems.push(
      "persistence is off (no AOF, no RDB saves): a Redis restart loses every queued job; set appendonly yes",
    );
  }
  return { version: infoField(server, "redis_version") ?? "unknown", maxmemoryPolicy, aofEnabled, rdbSaves, problems };
}
