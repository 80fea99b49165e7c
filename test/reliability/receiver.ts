// A webhook receiver for crash and outage runs: counts each webhook-id it answered 2xx, knows
// how many requests it holds open, and can hold answers, fail, or go away entirely (its port
// then refuses connections) and come back on the same port.
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Mode = "ok" | "hold" | "fail";

export interface CrashReceiver {
  port: number;
  url(path: string): string;
  mode: Mode;
  /** Every request seen: path, webhook-id and the ninjs item's uri, in arrival order. */
  seen: { path: string; webhookId: string; uri: string }[];
  /** 2xx answers sent, per "path webhook-id". */
  delivered: Map<string, number>;
  /** When each 2xx answer was written (Date.now()), per "path webhook-id". */
  deliveredAt: Map<string, number[]>;
  /** Requests received and not answered yet. */
  open(): number;
  /** Answers every held request 200 now. */
  releaseHeld(): void;
  /** Client connections still open (0 after a client process died: all it sent has been read). */
  openConnections(): number;
  /** Stops listening (connections refused) and drops held requests. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startCrashReceiver(): Promise<CrashReceiver> {
  const held = new Map<http.ServerResponse, string>();
  const sockets = new Set<Socket>();
  const rx: CrashReceiver = {
    port: 0,
    url: (p) => `http://127.0.0.1:${rx.port}${p}`,
    mode: "ok",
    seen: [],
    delivered: new Map(),
    deliveredAt: new Map(),
    open: () => held.size,
    openConnections: () => sockets.size,
    releaseHeld: () => {
      for (const [res, key] of [...held]) answer(res, key, 200);
    },
    down: () => stop(),
    up: () => listen(rx.port),
    close: () => stop(),
  };
  const answer = (res: http.ServerResponse, key: string, status: number) => {
    held.delete(res);
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(status < 300 ? "ok" : "not now");
    // Counted once the answer is written: from here on, Herald may treat it as delivered.
    if (status < 300) {
      rx.delivered.set(key, (rx.delivered.get(key) ?? 0) + 1);
      rx.deliveredAt.set(key, [...(rx.deliveredAt.get(key) ?? []), Date.now()]);
    }
  };
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0]!;
      const webhookId = String(req.headers["webhook-id"] ?? "");
      let uri = "";
      try {
        uri = String(JSON.parse(Buffer.concat(chunks).toString("utf8")).data?.uri ?? "");
      } catch {}
      rx.seen.push({ path, webhookId, uri });
      const key = `${path} ${webhookId}`;
      held.set(res, key);
      res.on("close", () => held.delete(res));
      if (rx.mode === "hold") return; // answered by nobody: the client dies with it open
      answer(res, key, rx.mode === "fail" ? 503 : 200);
    });
  };
  let server: http.Server | null = null;
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const s = http.createServer(handler);
      s.on("connection", (socket: Socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        server = s;
        rx.port = (s.address() as AddressInfo).port;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    if (!s) return;
    server = null;
    for (const res of held.keys()) res.destroy();
    held.clear();
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen(0);
  return rx;
}

/** Keys seen 2xx more than once, and how many extra answers they got. */
export function duplicates(delivered: Map<string, number>): { keys: string[]; extra: number } {
  const keys = [...delivered].filter(([, n]) => n > 1).map(([k]) => k);
  return { keys, extra: keys.reduce((sum, k) => sum + delivered.get(k)! - 1, 0) };
}
