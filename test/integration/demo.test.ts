import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { simpleParser } from "mailparser";
import Parser from "rss-parser";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { redisUrl, uniquePrefix } from "../helpers/runtime.ts";

const varDir = mkdtempSync(path.join(tmpdir(), "herald-demo-"));
afterAll(() => rmSync(varDir, { recursive: true, force: true }));

describe("herald demo", { timeout: 120_000 }, () => {
  it("runs every channel through the queues, leaves the outputs and cleans up its keys", async () => {
    const prefix = uniquePrefix("demo");
    const r = await runCli(
      ["demo"],
      { REDIS_URL: redisUrl(), HERALD_PREFIX: prefix, VAR_DIR: varDir },
      { timeoutMs: 110_000 },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Done in \d+\.\d s/);
    const demo = path.join(varDir, "demo");

    // Email: alerts to the immediate readers (one version of each story, in their language) and
    // the daily digests, as real MIME files.
    const eml = readdirSync(path.join(demo, "outbox")).filter((f) => f.endsWith(".eml"));
    const mails = await Promise.all(eml.map(async (f) => simpleParser(readFileSync(path.join(demo, "outbox", f)))));
    const to = (who: string) => mails.filter((m) => JSON.stringify(m.to).includes(who)).map((m) => m.subject);
    expect(to("amina.hassan")).toHaveLength(2);
    expect(to("claire.dubois")).toEqual([
      "Le centre d'intervention pour les migrants d'Obock rouvre avec des services de protection élargis",
    ]);
    expect(to("lucia.quispe")).toHaveLength(1);
    expect(to("kenji.sato")).toHaveLength(1);
    for (const m of mails) {
      expect(m.text).toBeTruthy();
      expect(m.html).toBeTruthy();
    }
    expect(existsSync(path.join(demo, "digest-preview.html"))).toBe(true);

    // Feeds: the global Atom feed lists the three releases.
    const atom = await new Parser().parseString(readFileSync(path.join(demo, "feeds", "atom.xml"), "utf8"));
    expect(atom.items).toHaveLength(3);

    // Partner: three signed deliveries, each verified by the demo's receiver.
    expect(readdirSync(path.join(demo, "partner"))).toHaveLength(3);
    expect(r.stdout).toMatch(/3 signed webhook\(s\), 3 verified/);

    // Nothing left in Redis under the demo's prefix.
    const redis = new Redis(redisUrl());
    try {
      expect(await redis.keys(`${prefix}-demo-*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
