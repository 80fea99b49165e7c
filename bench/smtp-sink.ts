// An SMTP server that accepts and counts every message, run as a child process by the
// benchmarks so its CPU is not the benchmark's. Prints "PORT n"; answers {count} over IPC.
import { SMTPServer } from "smtp-server";

let count = 0;
let bytes = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  maxClients: 1000,
  onData(stream, _session, cb) {
    stream.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    stream.on("end", () => {
      count += 1;
      cb();
    });
  },
});
// Replies go out at once (no Nagle delay waiting for the client's ACK).
server.server.on("connection", (socket: import("node:net").Socket) => socket.setNoDelay(true));
server.listen(0, "127.0.0.1", () => {
  const port = (server.server.address() as { port: number }).port;
  process.stdout.write(`PORT ${port}\n`);
});
process.on("message", (m) => {
  if (m === "count") process.send?.({ count, bytes });
  if (m === "stop") server.close(() => process.exit(0));
});
