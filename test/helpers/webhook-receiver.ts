// A real HTTP (or, with a key and certificate, HTTPS) receiver for partner webhooks on
// 127.0.0.1: one route per partner, each with its own secret and scripted answers. Every request's Standard Webhooks signature is verified with
// the `standardwebhooks` library itself, and the result kept with the request.
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface Received {
  path: string;
  webhookId: string;
  webhookTimestamp: string;
  webhookSignature: string;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: the envelope under test, checked field by field
  json: any;
  verified: boolean;
  verifyError?: string;
  /** Wall time the request arrived, and when our answer finished (ms). */
  at: number;
  answeredAt?: number;
  status?: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the client must time out). */
  hang?: boolean;
}

export interface Route {
  secret: string;
  /** n = 0 for the first request on this route. Default: 200. */
  answer?: (n: number, r: Received) => Answer;
}

export interface Receiver {
  url(path: string): string;
  port: number;
  route(path: string, r: Route): void;
  received(path?: string): Received[];
  /** Requests that got a 2xx answer, in the order the answers completed. */
  delivered(path?: string): Received[];
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** Serve HTTPS with this key and certificate (PEM); URLs then name `host`. */
  tls?: { key: string; cert: string };
  /** The host name URLs use (default 127.0.0.1; it must resolve to 127.0.0.1). */
  host?: string;
}

export async function startReceiver(opts: ReceiverOptions = {}): Promise<Receiver> {
  const routes = new Map<string, Route>();
  const log: Received[] = [];
  const done: Received[] = [];
  const counts = new Map<string, number>();
  const open = new Set<http.ServerResponse>();
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0]!;
      const body = Buffer.concat(chunks).toString("utf8");
      const route = routes.get(path);
      const headers = {
        "webhook-id": String(req.headers["webhook-id"] ?? ""),
        "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
      };
      const r: Received = {
        path,
        webhookId: headers["webhook-id"],
        webhookTimestamp: headers["webhook-timestamp"],
        webhookSignature: headers["webhook-signature"],
        body,
        json: null,
        verified: false,
        at: Date.now(),
      };
      try {
        r.json = JSON.parse(body);
      } catch {}
      if (route) {
        try {
          new Webhook(route.secret).verify(body, headers);
          r.verified = true;
        } catch (err) {
          r.verifyError = (err as Error).message;
        }
      }
      log.push(r);
      const n = counts.get(path) ?? 0;
      counts.set(path, n + 1);
      const a: Answer = route ? (route.answer?.(n, r) ?? { status: 200 }) : { status: 404 };
      if (a.hang) {
        open.add(res);
        return;
      }
      const send = () => {
        res.writeHead(a.status, { "content-type": "text/plain", ...a.headers });
        res.end(a.status < 300 ? "ok" : `status ${a.status}`);
        r.status = a.status;
        r.answeredAt = Date.now();
        if (a.status >= 200 && a.status < 300) done.push(r);
      };
      if (a.delayMs) {
        open.add(res);
        setTimeout(() => {
          open.delete(res);
          if (!res.destroyed) send();
        }, a.delayMs);
      } else send();
    });
  };
  const server = opts.tls ? https.createServer(opts.tls, handle) : http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path) => `${opts.tls ? "https" : "http"}://${opts.host ?? "127.0.0.1"}:${port}${path}`,
    route: (path, r) => routes.set(path, r),
    received: (path) => log.filter((r) => !path || r.path === path),
    delivered: (path) => done.filter((r) => !path || r.path === path),
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
