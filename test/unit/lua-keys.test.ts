// Every Lua script Herald sends names each key it touches in KEYS. A Redis Cluster runs a
// script on the master of its declared keys' slot and refuses any other key ("non local key",
// or CROSSSLOT); on one Redis an undeclared key works, so only this check catches it before a
// cluster does. The rule for new scripts: build key names in TypeScript (rt.key(...), under
// the prefix's hash tag) and pass them in KEYS; never assemble a key inside Lua from ARGV.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.ts";

/** Commands whose first argument is not a key. */
const KEYLESS = new Set(["TIME", "PUBLISH", "PING", "ECHO"]);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sources(file) : name.endsWith(".ts") ? [file] : [];
  });
}

/** The first argument of each redis.call/pcall that is neither KEYS[…] nor a name bound to KEYS. */
function undeclaredKeys(lua: string): string[] {
  const bound = new Set<string>();
  for (const m of lua.matchAll(/for\s+\w+\s*,\s*(\w+)\s+in\s+ipairs\(\s*KEYS\s*\)/g)) bound.add(m[1]!);
  for (const m of lua.matchAll(/local\s+(\w+)\s*=\s*KEYS\[[^\]]+\]/g)) bound.add(m[1]!);
  const bad: string[] = [];
  for (const m of lua.matchAll(/redis\.p?call\(\s*(['"]?)([\w[\]]+)\1\s*(?:,\s*([^,)]+))?/g)) {
    const [, quote, command, first] = m;
    // A computed command (COMMIT's op[1]) is fine only when its key comes from KEYS too.
    if (quote && KEYLESS.has(command!.toUpperCase())) continue;
    const arg = (first ?? "").trim();
    if (/^KEYS\[/.test(arg) || bound.has(arg)) continue;
    bad.push(m[0]);
  }
  return bad;
}

describe("Lua scripts declare their keys", () => {
  it("the checker catches keys built in Lua and passes declared ones", () => {
    expect(undeclaredKeys("redis.call('SET', KEYS[1], ARGV[1])")).toEqual([]);
    expect(undeclaredKeys("for i, key in ipairs(KEYS) do redis.call('HGET', key, 'gen') end")).toEqual([]);
    expect(undeclaredKeys("redis.call('TIME')")).toEqual([]);
    expect(undeclaredKeys("redis.call(op[1], KEYS[op[2]], unpack(op, 3))")).toEqual([]);
    expect(undeclaredKeys("redis.call('SET', ARGV[1] .. ':x', 1)")).toHaveLength(1);
    expect(undeclaredKeys("for _, op in ipairs(ops) do redis.call(unpack(op)) end")).toHaveLength(1);
    expect(undeclaredKeys("local k = 'p:' .. ARGV[1]; redis.call('DEL', k)")).toHaveLength(1);
  });

  it("no script under src/ touches a key it was not given", () => {
    const offenders: string[] = [];
    let scripts = 0;
    for (const file of sources(path.join(ROOT, "src"))) {
      const text = readFileSync(file, "utf8");
      if (!text.includes("redis.call") && !text.includes("redis.pcall")) continue;
      scripts++;
      for (const bad of undeclaredKeys(text)) offenders.push(`${path.relative(ROOT, file)}: ${bad}`);
    }
    expect(scripts).toBeGreaterThanOrEqual(4);
    expect(offenders).toEqual([]);
  });
});
