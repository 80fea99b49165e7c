// An SMTP server for crash and outage runs. It records every message whose data it received
// (recipient and Message-ID, read from the raw headers: parsing thousands with mailparser would
// dominate the run; tests parse a sample), and can:
//   hold     keep the 250 after DATA: the message is here, the client does not know it yet
//            ("sent but not recorded" for the sender)
//   refuse   answer 421 at MAIL FROM (try again later)
//   down()   stop listening: connections are refused; up() listens on the same port again
import type { Socket } from "node:net";
import { SMTPServer } from "smtp-server";

export type SmtpMode = "ok" | "hold" | "refuse";

export interface SinkMessage {
  to: string;
  messageId: string;
  raw: string;
  /** When its data was complete (Date.now()). */
  at: number;
}

export interface SmtpSink {
  port: number;
  url: string;
  mode: SmtpMode;
  messages: SinkMessage[];
  /** Messages received per recipient. */
  count(address: string): number;
  /** Messages received whose 250 is being held. */
  held(): number;
  /** Sends the held 250s now. */
  releaseHeld(): void;
  /**
   * Client connections still open. After a client process is killed, 0 means every byte it
   * had handed to its kernel has been read here (its messages are counted).
   */
  openConnections(): number;
  refused: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const perAddress = new Map<string, number>();
  const heldCallbacks = new Set<() => void>();
  const sockets = new Set<Socket>();
  let server: SMTPServer | null = null;
  const sink: SmtpSink = {
    port: 0,
    url: "",
    mode: "ok",
    messages: [],
    count: (a) => perAddress.get(a) ?? 0,
    held: () => heldCallbacks.size,
    openConnections: () => sockets.size,
    releaseHeld: () => {
      for (const release of [...heldCallbacks]) release();
    },
    refused: 0,
    down: () => stop(),
    up: () => listen(sink.port),
    close: () => stop(),
  };
  const create = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      maxClients: 1000,
      closeTimeout: 100,
      onMailFrom(_address, _session, cb) {
        if (sink.mode === "refuse") {
          sink.refused += 1;
          return cb(Object.assign(new Error("try again later"), { responseCode: 421 }));
        }
        cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const raw = Buffer.concat(chunks).toString("utf8");
          const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
          const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(head)?.[1] ?? "";
          for (const r of session.envelope.rcptTo) {
            sink.messages.push({ to: r.address, messageId, raw, at: Date.now() });
            perAddress.set(r.address, (perAddress.get(r.address) ?? 0) + 1);
          }
          if (sink.mode !== "hold") return cb();
          const release = () => {
            heldCallbacks.delete(release);
            cb();
          };
          heldCallbacks.add(release);
        });
      },
    });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const s = create();
      s.server.on("connection", (socket: Socket) => {
        socket.setNoDelay(true);
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      s.on("error", () => {}); // a client killed mid-session resets its socket: expected here
      s.server.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        server = s;
        sink.port = (s.server.address() as { port: number }).port;
        sink.url = `smtp://127.0.0.1:${sink.port}`;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    if (!s) return;
    server = null;
    heldCallbacks.clear();
    // Open sessions (a pooled client keeps its connections) are cut after closeTimeout.
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen(0);
  return sink;
}
