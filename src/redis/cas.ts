// Compare-and-set of a JSON record with a `revision` field, together with everything that
// depends on it (indexes, counters, outbox), in one Lua script. Releases and subscribers both
// commit this way: read the record, decide the next state from it, then commit "if the record
// is still at the revision I read". A writer that lost the race re-reads and decides again, so
// a decision is always made on the current record, never on a stale copy.
//
// Every key the script touches is passed in KEYS (ops name a key by its index), so the script is
// valid on Redis Cluster as long as the keys share a hash slot (a `{tag}` prefix).
import type { ChainableCommander, Redis } from "ioredis";

/**
 * KEYS[1]: the record. ARGV[1]: the revision the writer read (0: no record, or a record written
 * before revisions existed). ARGV[2]: JSON list of [command, keyIndex, ...args].
 * Returns 1 when applied, 0 when the record moved on (nothing written).
 */
export const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
local rev = 0
if cur then
  local r = cjson.decode(cur).revision
  if type(r) == 'number' then rev = r end
end
if rev ~= tonumber(ARGV[1]) then return 0 end
for _, op in ipairs(cjson.decode(ARGV[2])) do
  redis.call(op[1], KEYS[op[2]], unpack(op, 3))
end
return 1
`;

/** The writes of one commit; `key()` declares a key and returns its KEYS index. */
export class CasOps {
  private readonly keys: string[];
  private readonly index = new Map<string, number>();
  readonly ops: (string | number)[][] = [];

  constructor(readonly recordKey: string) {
    this.keys = [recordKey];
    this.index.set(recordKey, 1);
  }

  private key(k: string): number {
    let i = this.index.get(k);
    if (i === undefined) {
      this.keys.push(k);
      i = this.keys.length;
      this.index.set(k, i);
    }
    return i;
  }

  /** One Redis command on `key`, e.g. add("ZADD", "p:subs", 12, "id"). */
  add(command: string, key: string, ...args: (string | number)[]): this {
    this.ops.push([command, this.key(key), ...args.map(String)]);
    return this;
  }

  /** Arguments for EVAL: numkeys, keys..., expected revision, ops. */
  evalArgs(expectedRevision: number): (string | number)[] {
    return [this.keys.length, ...this.keys, String(expectedRevision), JSON.stringify(this.ops)];
  }
}

type CasCommand = (...args: (string | number)[]) => Promise<unknown>;
const COMMAND = "heraldCas";

/**
 * The script as an ioredis command: sent by EVALSHA (loaded once), not as text on every write.
 * Call before creating a pipeline that will carry commits (a pipeline copies the commands the
 * connection has when it is made).
 */
export function defined(redis: Redis): void {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { lua: CAS_SCRIPT });
}

/** Commits `ops` if the record is still at `expectedRevision`; false when another writer won. */
export async function casCommit(redis: Redis, ops: CasOps, expectedRevision: number): Promise<boolean> {
  defined(redis);
  const ok = await (redis as unknown as Record<string, CasCommand>)[COMMAND]!(...ops.evalArgs(expectedRevision));
  return ok === 1;
}

/**
 * The same commit queued on a pipeline of `redis` (many records in one round trip; check each
 * reply is 1).
 */
export function casCommitOn(pipeline: ChainableCommander, ops: CasOps, expectedRevision: number): void {
  const commit = (pipeline as unknown as Record<string, CasCommand | undefined>)[COMMAND];
  if (!commit) throw new Error("casCommitOn: call defined(redis) before creating the pipeline");
  commit.call(pipeline, ...ops.evalArgs(expectedRevision));
}
