// REDIS_TLS against real TLS-only servers (plain TCP off): a Redis Cluster whose bus is TLS too,
// and a primary + replica + Sentinel all on TLS. The real `herald` command publishes
// through each; the private CA comes in the way production would pass one
// (NODE_EXTRA_CA_CERTS). Without REDIS_TLS the same command fails with one line.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import {
  makeTls,
  startCluster,
  startSentinelSet,
  type TestCluster,
  type TestSentinelSet,
  type TestTls,
} from "../helpers/redis-ha.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { uniquePrefix } from "../helpers/runtime.ts";

let dir: string;
let tls: TestTls;
let cluster: TestCluster;
let sentinels: TestSentinelSet;
let releaseFile: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "herald-tls-"));
  tls = await makeTls(path.join(dir, "pki"));
  [cluster, sentinels] = await Promise.all([
    startCluster(3, tls),
    startSentinelSet("herald-tls", { password: "data-pass" }, tls),
  ]);
  releaseFile = path.join(dir, "release.json");
  writeFileSync(releaseFile, JSON.stringify(sampleRelease({ id: "over-tls", title: "Over TLS" })));
}, 60_000);

afterAll(async () => {
  await Promise.all([cluster?.stop(), sentinels?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** `herald publish` through `env`: it stores the release (a Lua commit) and queues its event. */
async function publishOver(env: Record<string, string>): Promise<string> {
  const pub = await runCli(["publish", releaseFile], {
    ...env,
    NODE_EXTRA_CA_CERTS: tls.ca,
    SECRET_KEY: "s".repeat(40),
    VAR_DIR: dir,
  });
  expect(pub.code, pub.stderr).toBe(0);
  return pub.stdout;
}

describe("Redis over TLS", { timeout: 60_000 }, () => {
  it("a TLS-only Redis Cluster: REDIS_CLUSTER_NODES + REDIS_TLS=true", async () => {
    const env = {
      REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(","),
      REDIS_TLS: "true",
      HERALD_PREFIX: `{${uniquePrefix("tls")}}`,
    };
    expect(await publishOver(env)).toMatch(/over-tls/);
    const plain = await runCli(["status"], { ...env, REDIS_TLS: "false", NODE_EXTRA_CA_CERTS: tls.ca });
    expect(plain.code).toBe(1);
    expect(plain.stderr.trim().split("\n")).toHaveLength(1);
    expect(plain.stderr).toMatch(/^herald: cannot reach Redis at Redis Cluster 127\.0\.0\.1:\d+/);
  });

  it("TLS Sentinels and primary: rediss+sentinel:// with the primary's password", async () => {
    const s = sentinels.sentinels[0]!;
    const env = {
      REDIS_URL: `rediss+sentinel://:data-pass@${s.host}:${s.port}/${sentinels.name}`,
      HERALD_PREFIX: uniquePrefix("tls"),
    };
    expect(await publishOver(env)).toMatch(/over-tls/);
    // Untrusted certificate (no CA given): refused, with one line and no password in it.
    const untrusted = await runCli(["status"], { ...env, SECRET_KEY: "s".repeat(40) });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^herald: cannot reach Redis at Sentinel-watched primary "herald-tls"/);
    expect(untrusted.stderr).not.toContain("data-pass");
  });
});
