// `herald start` compiles the digest templates before the workers take jobs (src/cli/start.ts,
// warmTemplates): every language's layout and item templates, once, then the MJML thread stops.
// It is never in the workers' way: a vocabulary that cannot be read is logged, and a warm-up that
// hangs is given up after its timeout, both without throwing.
import { describe, expect, it } from "vitest";
import { warmTemplates } from "../../src/cli/start.ts";
import { loadConfig } from "../../src/config/index.ts";
import { defaultTaxonomy, type Taxonomy } from "../../src/releases/taxonomy.ts";
import { mjmlThread } from "../../src/templates/mjml-thread.ts";
import { templateStats } from "../../src/templates/stats.ts";

function logger() {
  const warnings: unknown[][] = [];
  return { warnings, log: { warn: (...args: unknown[]) => void warnings.push(args) } as never };
}
const rtWith = (current: () => Promise<Taxonomy>) => ({
  // A config object of its own: its brand is new, so its templates are compiled here.
  config: loadConfig({}),
  taxonomy: { current } as never,
});

describe("start-up warm-up of the digest templates", () => {
  it("compiles three layouts and six item templates, then stops the MJML thread", async () => {
    const { warnings, log } = logger();
    const renders = templateStats.mjmlRenders;
    await warmTemplates(
      rtWith(async () => defaultTaxonomy()),
      log,
    );
    expect(templateStats.mjmlRenders - renders).toBe(9);
    expect(warnings).toEqual([]);
    // Stopped: the next render needs a thread of its own.
    const started = mjmlThread.started;
    await mjmlThread.render("<mjml><mj-body></mj-body></mjml>", { validationLevel: "soft", keepComments: false });
    expect(mjmlThread.started - started).toBe(1);
    await mjmlThread.stop();
  });

  it("a vocabulary that cannot be read: one warning, and start-up goes on", async () => {
    const { warnings, log } = logger();
    await warmTemplates(
      rtWith(async () => {
        throw new Error("Redis is gone");
      }),
      log,
    );
    expect(warnings).toHaveLength(1);
    expect(String((warnings[0]![0] as { err: Error }).err.message)).toBe("Redis is gone");
  });

  it("a warm-up that hangs is given up after its timeout, with one warning", async () => {
    const { warnings, log } = logger();
    const t0 = Date.now();
    await warmTemplates(
      rtWith(() => new Promise<Taxonomy>(() => {})),
      log,
      300,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(warnings).toHaveLength(1);
    expect(String((warnings[0]![0] as { err: Error }).err.message)).toMatch(/not done within 0.3 s/);
  });
});
