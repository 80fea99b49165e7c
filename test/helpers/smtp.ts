// A real SMTP server on a random port that keeps what it receives (parsed with mailparser) and
// can be told to refuse: 550 or 421 for given recipients, or 421 for everyone for a while.
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface Received {
  from: string;
  to: string[];
  raw: string;
  parsed: ParsedMail;
}

export interface TestSmtp {
  url: string;
  port: number;
  messages: Received[];
  /** Recipients answered with this code at RCPT TO (e.g. 550 permanent, 421 transient). */
  refuse(address: string, code: number): void;
  /** Every message answered 421 until allowAll(). */
  refuseAll(): void;
  allowAll(): void;
  /** Messages whose To: contains `address`. */
  to(address: string): Received[];
  close(): Promise<void>;
}

export async function startSmtp(): Promise<TestSmtp> {
  const messages: Received[] = [];
  const refusals = new Map<string, number>();
  let down = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onMailFrom(_address, _session, cb) {
      if (down) {
        const err = Object.assign(new Error("try again later"), { responseCode: 421 });
        return cb(err);
      }
      cb();
    },
    onRcptTo(address, _session, cb) {
      const code = refusals.get(address.address.toLowerCase());
      if (code)
        return cb(Object.assign(new Error(code >= 500 ? "no such user" : "mailbox busy"), { responseCode: code }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", async () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const parsed = await simpleParser(raw);
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          parsed,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    refuse: (address, code) => refusals.set(address.toLowerCase(), code),
    refuseAll: () => {
      down = true;
    },
    allowAll: () => {
      down = false;
      refusals.clear();
    },
    to: (address) => messages.filter((m) => m.to.includes(address)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
