// The benchmark's partner endpoints, in their own process (so receiving does not compete with
// Herald's event loop). Routes /p/{name}: answer 200 after verifying the signature, or 500 for
// names starting with "fail". GET /stats returns every 2xx arrival; GET /count the number.
// Secrets arrive on stdin as JSON {name: secret}; the port is printed as "PORT n".
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

const secrets: Record<string, Webhook> = {};
const arrivals: { name: string; id: string; at: number }[] = [];
let bad = 0;
let failed = 0;

let input = "";
process.stdin.on("data", (d) => {
  input += String(d);
  const nl = input.indexOf("\n");
  if (nl >= 0) {
    for (const [name, secret] of Object.entries(JSON.parse(input.slice(0, nl)) as Record<string, string>))
      secrets[name] = new Webhook(secret);
    input = input.slice(nl + 1);
    process.stdout.write("READY\n");
  }
});

const server = http.createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(req.url === "/stats" ? { arrivals, bad, failed } : { count: arrivals.length, bad, failed }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const at = Date.now();
    const name = (req.url ?? "").replace(/^\/p\//, "");
    if (name.startsWith("fail")) {
      failed++;
      res.writeHead(500).end("down");
      return;
    }
    const headers = {
      "webhook-id": String(req.headers["webhook-id"]),
      "webhook-timestamp": String(req.headers["webhook-timestamp"]),
      "webhook-signature": String(req.headers["webhook-signature"]),
    };
    try {
      secrets[name]!.verify(Buffer.concat(chunks), headers);
    } catch {
      bad++;
      res.writeHead(400).end("bad signature");
      return;
    }
    arrivals.push({ name, id: headers["webhook-id"], at });
    res.writeHead(200).end("ok");
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`));
