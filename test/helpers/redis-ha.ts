// Real Redis topologies for tests, each in its own temp dir on free ports, torn down after:
// a 3-master Redis Cluster (redis-server --cluster-enabled yes + redis-cli --cluster create) and
// a primary + replica watched by a Sentinel (redis-server --sentinel, the same binary as
// redis-sentinel).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import type { HostPort } from "../../src/config/index.ts";
import { freePort, portAnswers } from "../../src/redis/embedded.ts";
import { eventually } from "./runtime.ts";

const run = promisify(execFile);

interface Proc {
  port: number;
  child: ChildProcess;
  args: string[];
  dir: string;
}

/** eventually() with the thing awaited first and a 20 s default: servers take a while to agree. */
function waitFor<T>(what: string, check: () => Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  return eventually(check, timeoutMs, what);
}

function launch(dir: string, port: number, args: string[]): Proc {
  mkdirSync(dir, { recursive: true });
  const child = spawn("redis-server", args, { cwd: dir, stdio: "ignore" });
  return { port, child, args, dir };
}

async function started(p: Proc): Promise<void> {
  await waitFor(`redis-server on ${p.port}`, () => portAnswers(p.port));
}

function kill(p: Proc, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    p.child.once("exit", () => resolve());
    p.child.kill(signal);
  });
}

/** PEM files of a throwaway CA and a server certificate for 127.0.0.1 (see makeTls). */
export interface TestTls {
  ca: string;
  cert: string;
  key: string;
}

/** Listen on `port` in plain TCP, or TLS only (port 0 turns plain TCP off) with `tls`. */
const listenArgs = (port: number, tls?: TestTls) =>
  tls
    ? [
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        tls.cert,
        "--tls-key-file",
        tls.key,
        "--tls-ca-cert-file",
        tls.ca,
        "--tls-auth-clients",
        "no",
      ]
    : ["--port", String(port)];

const nodeArgs = (port: number, tls?: TestTls) => [
  ...listenArgs(port, tls),
  "--bind",
  "127.0.0.1",
  "--save",
  "",
  "--appendonly",
  "no",
  "--maxmemory-policy",
  "noeviction",
];

/** A CA and a certificate for 127.0.0.1/localhost, made with openssl in `dir`. */
export async function makeTls(dir: string): Promise<TestTls> {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run("openssl", args, { timeout: 20_000 });
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.crt"),
    "-days",
    "2",
    "-subj",
    "/CN=herald-test-ca",
  );
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("server.key"),
    "-out",
    f("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  );
  writeFileSync(f("ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await openssl(
    "x509",
    "-req",
    "-in",
    f("server.csr"),
    "-CA",
    f("ca.crt"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("server.crt"),
    "-days",
    "2",
    "-extfile",
    f("ext"),
  );
  return { ca: f("ca.crt"), cert: f("server.crt"), key: f("server.key") };
}

const clientTls = (tls?: TestTls) => (tls ? { tls: { ca: readFileSync(tls.ca) } } : {});

export interface TestCluster {
  nodes: HostPort[];
  /** Keys per master ("127.0.0.1:port" -> DBSIZE). */
  keyCounts(): Promise<Record<string, number>>;
  /** A plain connection to one node (for SCAN, CLUSTER commands). */
  node(port: number): Redis;
  /** The port of the master serving `slot`. */
  ownerOf(slot: number): Promise<number>;
  /**
   * Moves one slot, keys and all, to the master on `toPort` the way redis-cli reshard does:
   * IMPORTING/MIGRATING, MIGRATE in batches, then SETSLOT NODE on every master. Clients see
   * ASK and TRYAGAIN meanwhile, then MOVED.
   */
  migrateSlot(slot: number, toPort: number): Promise<number>;
  /** SIGKILL one master. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** Three masters, no replicas, slots split evenly by redis-cli; `tls`: TLS only, bus included. */
export async function startCluster(masters = 3, tls?: TestTls): Promise<TestCluster> {
  const root = mkdtempSync(path.join(tmpdir(), "herald-cluster-"));
  const procs: Proc[] = [];
  const conns = new Map<number, Redis>();
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const dir = path.join(root, String(port));
      procs.push(
        launch(dir, port, [
          ...nodeArgs(port, tls),
          ...(tls ? ["--tls-cluster", "yes", "--tls-replication", "yes"] : []),
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          `nodes-${port}.conf`,
          "--cluster-node-timeout",
          "2000",
          "--dir",
          dir,
        ]),
      );
    }
    await Promise.all(procs.map(started));
    await run(
      "redis-cli",
      [
        ...(tls ? ["--tls", "--cacert", tls.ca] : []),
        "--cluster",
        "create",
        ...procs.map((p) => `127.0.0.1:${p.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { timeout: 20_000 },
    );
    const node = (port: number) => {
      let c = conns.get(port);
      if (!c) {
        c = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1, lazyConnect: false, ...clientTls(tls) });
        c.on("error", () => {});
        conns.set(port, c);
      }
      return c;
    };
    // Every node must agree the cluster is up (all slots covered) before a client uses it.
    await waitFor("cluster_state:ok on every node", async () => {
      for (const p of procs) if (!/cluster_state:ok/.test(await node(p.port).cluster("INFO"))) return false;
      return true;
    });
    const self: TestCluster = {
      nodes: procs.map((p) => ({ host: "127.0.0.1", port: p.port })),
      node,
      async ownerOf(slot: number) {
        const slots = (await node(procs[0]!.port).cluster("SLOTS")) as unknown as [number, number, [string, number]][];
        const range = slots.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no master serves slot ${slot}`);
        return range[2][1];
      },
      async migrateSlot(slot: number, toPort: number) {
        const fromPort = await self.ownerOf(slot);
        if (fromPort === toPort) return 0;
        const src = node(fromPort);
        const dst = node(toPort);
        const [srcId, dstId] = [String(await src.cluster("MYID")), String(await dst.cluster("MYID"))];
        await dst.cluster("SETSLOT", slot, "IMPORTING", srcId);
        await src.cluster("SETSLOT", slot, "MIGRATING", dstId);
        let moved = 0;
        for (;;) {
          const keys = (await src.cluster("GETKEYSINSLOT", slot, 50)) as string[];
          if (keys.length === 0) break;
          await src.call("MIGRATE", "127.0.0.1", String(toPort), "", "0", "5000", "KEYS", ...keys);
          moved += keys.length;
        }
        // The new owner first (so it stops answering ASK), then the old one, then the rest.
        await dst.cluster("SETSLOT", slot, "NODE", dstId);
        await src.cluster("SETSLOT", slot, "NODE", dstId);
        for (const p of procs)
          if (p.port !== fromPort && p.port !== toPort) await node(p.port).cluster("SETSLOT", slot, "NODE", dstId);
        return moved;
      },
      async kill(port: number) {
        const p = procs.find((x) => x.port === port);
        if (p) await kill(p);
      },
      async keyCounts() {
        const out: Record<string, number> = {};
        for (const p of procs) out[`127.0.0.1:${p.port}`] = await node(p.port).dbsize();
        return out;
      },
      async stop() {
        for (const c of conns.values()) c.disconnect();
        await Promise.all(procs.map((p) => kill(p)));
        rmSync(root, { recursive: true, force: true });
      },
    };
    return self;
  } catch (err) {
    for (const c of conns.values()) c.disconnect();
    await Promise.all(procs.map((p) => kill(p)));
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

export interface TestSentinelSet {
  name: string;
  sentinels: HostPort[];
  /** Ports of the two data nodes (the first started as primary). */
  ports: number[];
  /** The port the Sentinel currently names as primary. */
  primaryPort(): Promise<number>;
  /** ROLE of a data node: "master" or "slave". */
  role(port: number): Promise<string>;
  /** SENTINEL FAILOVER: promote the replica (the old primary becomes its replica). */
  failover(): Promise<void>;
  /** SIGKILL a data node; restart() brings it back with the same arguments. */
  kill(port: number): Promise<void>;
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A primary, one replica and one Sentinel (quorum 1), failing over after ~1 s of silence.
 * `password`: requirepass on the data nodes; `sentinelPassword`: on the Sentinel.
 */
export async function startSentinelSet(
  name = "herald-test",
  auth: { password?: string; sentinelPassword?: string } = {},
  tls?: TestTls,
): Promise<TestSentinelSet> {
  const root = mkdtempSync(path.join(tmpdir(), "herald-sentinel-"));
  const procs = new Map<number, Proc>();
  const conns: Redis[] = [];
  const stopAll = async () => {
    for (const c of conns) c.disconnect();
    await Promise.all([...procs.values()].map((p) => kill(p)));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const [primary, replica, sentinelPort] = [await freePort(), await freePort(), await freePort()];
    // A replica's first sync waits 5 s by default (repl-diskless-sync-delay) for more replicas.
    const authArgs = [
      ...(auth.password ? ["--requirepass", auth.password, "--masterauth", auth.password] : []),
      "--repl-diskless-sync-delay",
      "0",
    ];
    const p1 = launch(path.join(root, "a"), primary, [
      ...nodeArgs(primary, tls),
      ...authArgs,
      "--dir",
      path.join(root, "a"),
    ]);
    procs.set(primary, p1);
    await started(p1);
    const p2 = launch(path.join(root, "b"), replica, [
      ...nodeArgs(replica, tls),
      ...authArgs,
      ...(tls ? ["--tls-replication", "yes"] : []),
      "--dir",
      path.join(root, "b"),
      "--replicaof",
      "127.0.0.1",
      String(primary),
    ]);
    procs.set(replica, p2);
    await started(p2);
    const sdir = path.join(root, "s");
    mkdirSync(sdir, { recursive: true });
    const conf = path.join(sdir, "sentinel.conf");
    writeFileSync(
      conf,
      [
        ...(tls
          ? [
              "port 0",
              `tls-port ${sentinelPort}`,
              `tls-cert-file ${tls.cert}`,
              `tls-key-file ${tls.key}`,
              `tls-ca-cert-file ${tls.ca}`,
              "tls-auth-clients no",
              "tls-replication yes",
            ]
          : [`port ${sentinelPort}`]),
        "bind 127.0.0.1",
        `dir ${sdir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 4000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(auth.password ? [`sentinel auth-pass ${name} ${auth.password}`] : []),
        ...(auth.sentinelPassword ? [`requirepass ${auth.sentinelPassword}`] : []),
        "",
      ].join("\n"),
    );
    const ps = launch(sdir, sentinelPort, [conf, "--sentinel"]);
    procs.set(sentinelPort, ps);
    await started(ps);
    const sentinel = new Redis({
      port: sentinelPort,
      host: "127.0.0.1",
      maxRetriesPerRequest: 1,
      password: auth.sentinelPassword,
      ...clientTls(tls),
    });
    sentinel.on("error", () => {});
    conns.push(sentinel);
    const data = new Map<number, Redis>();
    const dataConn = (port: number) => {
      let c = data.get(port);
      if (!c) {
        c = new Redis({
          port,
          host: "127.0.0.1",
          maxRetriesPerRequest: 1,
          retryStrategy: () => 100,
          password: auth.password,
          ...clientTls(tls),
        });
        c.on("error", () => {});
        data.set(port, c);
        conns.push(c);
      }
      return c;
    };
    const primaryPort = async () =>
      Number(((await sentinel.call("SENTINEL", "get-master-addr-by-name", name)) as string[])[1]);
    const role = async (port: number) => ((await dataConn(port).call("ROLE")) as [string])[0];
    // The Sentinel must know the replica (it learns it from the primary's INFO) before it can fail over.
    await waitFor("the sentinel to see the replica", async () => {
      const replicas = (await sentinel.call("SENTINEL", "replicas", name)) as string[][];
      return replicas.some((r) => {
        const flags = r[r.indexOf("flags") + 1] ?? "";
        const link = r[r.indexOf("master-link-status") + 1];
        return !/s_down|disconnected/.test(flags) && link === "ok";
      });
    });
    return {
      name,
      sentinels: [{ host: "127.0.0.1", port: sentinelPort }],
      ports: [primary, replica],
      primaryPort,
      role,
      async failover() {
        const before = await primaryPort();
        await waitFor("SENTINEL FAILOVER to be accepted", async () => {
          try {
            return (await sentinel.call("SENTINEL", "FAILOVER", name)) === "OK";
          } catch (err) {
            // NOGOODSLAVE while the replica is still syncing: try again.
            if (/NOGOODSLAVE|INPROG/.test((err as Error).message)) return false;
            throw err;
          }
        });
        await waitFor("the new primary to take writes", async () => {
          const now = await primaryPort();
          return now !== before && (await role(now)) === "master";
        });
      },
      async kill(port: number) {
        const p = procs.get(port);
        if (p) await kill(p);
      },
      async restart(port: number) {
        const p = procs.get(port);
        if (!p) throw new Error(`no process on ${port}`);
        const again = launch(p.dir, port, p.args);
        procs.set(port, again);
        await started(again);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
