// Pipelines and MULTI blocks report each command's error in their result instead of rejecting.
// Reading such a result without looking turns "Redis said LOADING" or a reset connection into
// an empty answer ("no partners", "no dead letters"), and a job that should retry completes
// having done nothing. Every pipeline goes through here: any failed command fails the call.
import type { ChainableCommander } from "ioredis";

export async function execOrThrow(pipeline: ChainableCommander): Promise<unknown[]> {
  const rows = await pipeline.exec();
  if (!rows) throw new Error("Redis transaction was discarded (a watched key changed); try again");
  return rows.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
