// One HTTP POST to a checked destination. The socket is opened to the address the SSRF guard
// approved (never re-resolved), TLS still verifies the certificate for the URL's host name,
// redirects are never followed (node:http does not), and one timer bounds the whole exchange,
// connect to last byte, so a partner that trickles its answer cannot hold a worker slot.
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import type { Destination } from "./ssrf.ts";

export interface PostResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The start of the answer, for the delivery log (at most MAX_ANSWER bytes). */
  body: string;
}

export class PostError extends Error {
  constructor(
    message: string,
    readonly kind: "timeout" | "network",
  ) {
    super(message);
    this.name = "PostError";
  }
}

const MAX_ANSWER = 4096;

// Keep-alive pools keyed by address:port (+ servername for TLS): a socket opened to a checked
// address is only ever reused for that same address.
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });

export function postJson(
  dest: Destination,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostResult> {
  const { url } = dest;
  const secure = url.protocol === "https:";
  const hostName = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request({
      method: "POST",
      host: dest.address,
      family: dest.family,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      agent: secure ? httpsAgent : httpAgent,
      // SNI and certificate check use the URL's name (an IP literal is checked as itself).
      ...(secure && !isIP(hostName) ? { servername: hostName } : {}),
      headers: {
        ...headers,
        host: url.host,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "user-agent": "Herald-Webhooks/1",
      },
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      settle(() => reject(new PostError(`no answer within ${timeoutMs} ms (timeout)`, "timeout")));
      req.destroy();
    }, timeoutMs);
    req.once("error", (err) =>
      settle(() =>
        reject(new PostError(`${(err as NodeJS.ErrnoException).code ?? "error"}: ${err.message}`, "network")),
      ),
    );
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        if (size < MAX_ANSWER) chunks.push(c);
        size += c.length;
      });
      res.once("end", () =>
        settle(() =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8").slice(0, MAX_ANSWER),
          }),
        ),
      );
      res.once("error", (err) => settle(() => reject(new PostError(`answer broke off: ${err.message}`, "network"))));
      res.once("close", () => settle(() => reject(new PostError("answer broke off", "network"))));
    });
    req.end(body);
  });
}
