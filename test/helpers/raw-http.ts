// HTTP requests with the request target sent exactly as written. fetch (undici) normalises the
// path (dot segments, some escapes) before sending it, which would hide the spellings an
// attacker sends; node:http writes `path` into the request line verbatim.
import http from "node:http";
import net from "node:net";

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  agent?: http.Agent,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: { ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Bytes written on a fresh socket as given; resolves with everything read until the server closes. */
export function rawExchange(
  port: number,
  bytes: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the socket open for ${opts.timeoutMs} ms`));
    }, opts.timeoutMs ?? 10_000);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closedAfterMs: Date.now() - started });
    });
  });
}

/** Runs `tasks` with at most `n` in flight. */
export async function inPool<T>(tasks: (() => Promise<T>)[], n: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

/**
 * One request on its own socket, bytes as given (any request target, even one node:http's client
 * would refuse or whose answer it cannot parse, such as a 400 with a body to a HEAD).
 */
export async function rawSocketRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = "",
): Promise<RawResponse> {
  const lines = [
    `${method} ${target} HTTP/1.1`,
    "host: 127.0.0.1",
    "connection: close",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (body || !["GET", "HEAD"].includes(method)) lines.push(`content-length: ${Buffer.byteLength(body)}`);
  const { text } = await rawExchange(port, `${lines.join("\r\n")}\r\n\r\n${body}`);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? -1);
  const sep = text.indexOf("\r\n\r\n");
  return { status, headers: {}, body: sep < 0 ? text : text.slice(sep + 4) };
}
