// Herald's SMTP client: a pool of connections, each carrying one message at a time, with
// PIPELINING (MAIL, RCPT and DATA in one write) and the message written as the bytes it already
// is. Why not nodemailer's pool, which sends everything else: it passes every byte of every
// message through a JavaScript transform (dot-stuffing, line endings), about half of a digest's
// CPU per email, while Herald builds its messages with CRLF lines and no line that starts with
// "." (message.ts). toWire checks that with native searches and only then writes the buffer as
// it is; a message that fails the check is normalised the slow way first, so nothing that
// reaches the server can end the DATA early (SMTP smuggling) whatever a caller hands in.
//   STARTTLS when the server offers it (smtps:// for TLS from the start), AUTH PLAIN or LOGIN
//   from the URL's user and password, SIZE and SMTPUTF8 when offered, RSET after a refusal,
//   QUIT after MAX_MESSAGES or SMTP_IDLE_MS of silence. The connection, greeting and TLS
//   handshake may take CONNECT_MS, any other reply REPLY_MS (SmtpTarget.timeouts).
// Errors: `responseCode` and `permanent` are set only where the answer is about the recipient
// (RCPT, and the reply to the message's end); a refused sender, login or greeting is the
// sender's problem and transient, so no reader is ever suppressed for it.
import net from "node:net";
import os from "node:os";
import tls from "node:tls";
import { domainToASCII } from "node:url";

/** Messages one connection carries before it says QUIT and a fresh one is opened. */
const MAX_MESSAGES = 10_000;
/** An idle connection is closed after this long (servers close theirs after a few minutes). */
const SMTP_IDLE_MS = 30_000;
/** How long a reply may take; RFC 5321 4.5.3.2 allows minutes, a healthy server takes milliseconds. */
const REPLY_MS = 120_000;
/** How long connecting, the greeting and a TLS handshake may take. */
const CONNECT_MS = 15_000;

export interface SmtpTarget {
  host: string;
  port: number;
  /** TLS from the first byte (smtps://); otherwise STARTTLS when offered. */
  secure: boolean;
  auth?: { user: string; pass: string };
  /** Never upgrade with STARTTLS (?ignoreTLS=true). */
  ignoreTLS: boolean;
  /** Refuse to send unless the connection is encrypted (?requireTLS=true). */
  requireTLS: boolean;
  /** Name said in EHLO (?name=…; the host name otherwise). */
  name: string;
  tls: tls.ConnectionOptions;
  timeouts: { connectMs: number; replyMs: number };
}

/** SMTP_URL -> where and how to connect. Unknown query keys are ignored (nodemailer's pool options, say). */
export function smtpTarget(url: string): SmtpTarget {
  const u = new URL(url);
  const q = u.searchParams;
  const secure = u.protocol === "smtps:" || q.get("secure") === "true";
  const flag = (k: string) => q.get(k) === "true";
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    ...(u.username ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } } : {}),
    ignoreTLS: flag("ignoreTLS"),
    requireTLS: flag("requireTLS"),
    name: q.get("name") ?? os.hostname(),
    tls: {
      // SNI names a host, never an address (RFC 6066).
      ...(net.isIP(u.hostname.replace(/^\[|\]$/g, "")) ? {} : { servername: u.hostname }),
      ...(q.get("tls.rejectUnauthorized") === "false" ? { rejectUnauthorized: false } : {}),
    },
    timeouts: { connectMs: CONNECT_MS, replyMs: REPLY_MS },
  };
}

interface Reply {
  code: number;
  /** Every line as the server sent it, joined by a space (for errors and logs). */
  text: string;
  /** What follows the code on each line ("PIPELINING", "SIZE 35882577", …). */
  lines: string[];
}

/** A failed send, shaped like nodemailer's errors (transport.ts isPermanentFailure reads it). */
export class SmtpError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** The recipient (or this message) was refused for good: the address is suppressed. */
    readonly permanent = false,
    readonly response?: string,
    readonly responseCode?: number,
  ) {
    super(message);
  }
}

/** What the server said, as an error; `aboutRecipient`: the answer to RCPT or to the message. */
function refused(what: string, r: Reply, aboutRecipient: boolean): SmtpError {
  const permanent = aboutRecipient && r.code >= 500;
  return new SmtpError(
    `${what} refused: ${r.text}`,
    aboutRecipient ? "EENVELOPE" : "EPROTOCOL",
    permanent,
    r.text,
    aboutRecipient ? r.code : undefined,
  );
}

/** Reads replies off a byte stream: "250-…" lines continue, "250 …" ends one. */
class ReplyReader {
  private partial = "";
  private lines: string[] = [];

  feed(chunk: Buffer, out: (r: Reply) => void): void {
    const data = this.partial + chunk.toString("latin1");
    const parts = data.split("\n");
    this.partial = parts.pop()!;
    if (this.partial.length > 8192) throw new SmtpError("the server sent a line of over 8 KB", "EPROTOCOL");
    for (const raw of parts) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      this.lines.push(line);
      if (line.length > 3 && line[3] === "-") continue;
      const code = Number(line.slice(0, 3));
      const text = this.lines.join(" ");
      const lines = this.lines.map((l) => l.slice(4));
      this.lines = [];
      if (!/^[2-5]\d\d$/.test(line.slice(0, 3)))
        throw new SmtpError(`the server sent something that is not an SMTP reply: ${text.slice(0, 200)}`, "EPROTOCOL");
      out({ code, text, lines });
    }
  }
}

/** One connection: replies are awaited in the order the commands went (which makes pipelining work). */
class SmtpConnection {
  private waiters: { resolve(r: Reply): void; reject(e: Error): void }[] = [];
  private early: Reply[] = [];
  private reader = new ReplyReader();
  private failure: Error | undefined;
  /** What EHLO offered: keyword -> its parameters ("SIZE" -> "35882577", "AUTH" -> "PLAIN LOGIN"). */
  features = new Map<string, string>();
  /** Messages this connection carried (accepted). */
  sent = 0;
  /** The current message's end went out: from here on the server may have accepted it. */
  ending = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private socket: net.Socket,
    private onClose: (c: SmtpConnection) => void,
    private readonly replyMs: number,
  ) {
    this.listen(socket);
  }

  get broken(): boolean {
    return this.failure !== undefined;
  }

  get encrypted(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  private listen(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      try {
        this.reader.feed(d, (r) => {
          const w = this.waiters.shift();
          if (w) w.resolve(r);
          else if (this.early.push(r) > 16)
            throw new SmtpError("the server sent replies nobody asked for", "EPROTOCOL");
        });
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    socket.on("error", (err) => this.destroy(new SmtpError(`SMTP connection failed: ${err.message}`, "ECONNECTION")));
    socket.on("close", () => this.destroy(new SmtpError("the SMTP server closed the connection", "ECONNECTION")));
    socket.on("timeout", () => this.destroy(new SmtpError("no reply from the SMTP server in time", "ETIMEDOUT")));
  }

  /** The next reply, in order; `ms`: how long it may take. */
  reply(ms = this.replyMs): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const r = this.early.shift();
    if (r) return Promise.resolve(r);
    this.socket.setTimeout(ms);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  write(data: string | Buffer): void {
    if (!this.failure) this.socket.write(data);
  }

  async command(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** EHLO (HELO when refused), and what the server offers. */
  async hello(name: string): Promise<void> {
    let r = await this.command(`EHLO ${name}`);
    if (r.code !== 250) r = await this.command(`HELO ${name}`);
    if (r.code !== 250) throw refused("EHLO", r, false);
    // The first line greets; each further one is a keyword and its parameters (RFC 5321 4.1.1.1).
    this.features = new Map(
      r.lines.slice(1).map((l) => {
        // "AUTH=LOGIN PLAIN" is how some older servers still say "AUTH LOGIN PLAIN".
        const [kw = "", ...params] = l
          .trim()
          .replace(/^AUTH=/i, "AUTH ")
          .split(/\s+/);
        return [kw.toUpperCase(), params.join(" ")] as const;
      }),
    );
  }

  /** Swaps the plain socket for TLS after a 220 to STARTTLS; the handshake may take `ms`. */
  async upgrade(options: tls.ConnectionOptions, ms: number): Promise<void> {
    const plain = this.socket;
    for (const event of ["data", "close", "timeout", "error"]) plain.removeAllListeners(event);
    // The TLS socket reports what fails underneath; an error event without a listener would throw.
    plain.on("error", () => {});
    const secure = tls.connect({ ...options, socket: plain });
    this.socket = secure;
    this.listen(secure);
    secure.setTimeout(ms);
    // A server that hangs up or goes silent mid-handshake ends it too, not only a TLS error.
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => reject(new SmtpError(`STARTTLS failed: ${why}`, "ETLS"));
      secure.once("secureConnect", resolve);
      secure.once("error", (e) => fail(e.message));
      secure.once("close", () => fail("the connection closed during the handshake"));
    });
  }

  /** Idle in the pool: closed politely after SMTP_IDLE_MS unless used again. */
  park(): void {
    this.socket.setTimeout(0);
    this.idleTimer = setTimeout(() => this.quit(), SMTP_IDLE_MS);
    this.idleTimer.unref();
  }

  unpark(): void {
    clearTimeout(this.idleTimer);
  }

  quit(): void {
    if (this.failure) return;
    this.write("QUIT\r\n");
    this.destroy(new SmtpError("connection closed by Herald", "ECONNECTION"), true);
  }

  destroy(err: Error, gently = false): void {
    if (this.failure) return;
    this.failure = err;
    clearTimeout(this.idleTimer);
    for (const w of this.waiters.splice(0)) w.reject(err);
    if (gently) this.socket.end();
    else this.socket.destroy();
    this.onClose(this);
  }

  /** The socket, to write a message with its end in one go. */
  get out(): net.Socket {
    return this.socket;
  }
}

/** Opens, greets, upgrades to TLS when offered and logs in: a connection ready for MAIL. */
async function openConnection(t: SmtpTarget, onClose: (c: SmtpConnection) => void): Promise<SmtpConnection> {
  const socket = t.secure
    ? tls.connect({ host: t.host, port: t.port, ...t.tls })
    : net.connect({ host: t.host, port: t.port });
  const { connectMs, replyMs } = t.timeouts;
  socket.setTimeout(connectMs);
  const c = new SmtpConnection(socket, onClose, replyMs);
  try {
    const greeting = await c.reply(connectMs);
    if (greeting.code !== 220) throw refused("the connection", greeting, false);
    await c.hello(t.name);
    if (!t.secure && !t.ignoreTLS && c.features.has("STARTTLS")) {
      const r = await c.command("STARTTLS");
      if (r.code !== 220) throw refused("STARTTLS", r, false);
      await c.upgrade(t.tls, connectMs);
      await c.hello(t.name);
    }
    if (t.requireTLS && !c.encrypted)
      throw new SmtpError("SMTP_URL asks for TLS (requireTLS) and the server offers no STARTTLS", "ETLS");
    if (t.auth) await login(c, t.auth);
    return c;
  } catch (err) {
    c.destroy(err as Error);
    throw err;
  }
}

async function login(c: SmtpConnection, auth: { user: string; pass: string }): Promise<void> {
  const methods = (c.features.get("AUTH") ?? "").toUpperCase().split(" ");
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  let r: Reply;
  if (methods.includes("PLAIN")) r = await c.command(`AUTH PLAIN ${b64(`\0${auth.user}\0${auth.pass}`)}`);
  else if (methods.includes("LOGIN")) {
    r = await c.command("AUTH LOGIN");
    if (r.code === 334) r = await c.command(b64(auth.user));
    if (r.code === 334) r = await c.command(b64(auth.pass));
  } else throw new SmtpError("SMTP_URL has a user, and the server offers no AUTH PLAIN or LOGIN", "EAUTH");
  if (r.code !== 235) throw new SmtpError(`SMTP login refused: ${r.text}`, "EAUTH", false, r.text);
}

/**
 * The message as DATA bytes (RFC 5321 4.5.2): a "." opening a line doubled, the last line ended.
 * Herald's messages have CRLF lines and no line that opens with "." (message.ts): two native
 * searches say so and they go as they are. Anything else is rewritten here with CRLF lines, so
 * no "." after a CR or LF of any kind reaches the server, the stuff of every way to end DATA early.
 */
export function toWire(raw: Buffer): Buffer {
  const clean =
    raw.length >= 2 &&
    raw[0] !== 46 &&
    raw[raw.length - 2] === 13 &&
    raw[raw.length - 1] === 10 &&
    raw.indexOf("\n.") < 0 &&
    raw.indexOf("\r.") < 0;
  if (clean) return raw;
  const lines = raw.toString("latin1").split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return Buffer.from(`${lines.map((l) => (l.startsWith(".") ? `.${l}` : l)).join("\r\n")}\r\n`, "latin1");
}

/** An envelope address as SMTP carries it: one token, its domain in ASCII (IDNA); `utf8` when the local part is not ASCII. */
function envelopeAddress(a: string, recipient: boolean): { address: string; utf8: boolean } {
  const at = a.lastIndexOf("@");
  const domain = at > 0 ? domainToASCII(a.slice(at + 1)) : "";
  // No space, bracket or control character: an address can never add a command.
  if (!domain || !/^[^\s<>\x00-\x1f\x7f]+$/.test(a))
    throw new SmtpError(`not an address SMTP can carry: ${JSON.stringify(a.slice(0, 100))}`, "EENVELOPE", recipient);
  const local = a.slice(0, at);
  return { address: `${local}@${domain}`, utf8: /[^\x00-\x7f]/.test(local) };
}

/** MAIL, RCPT and DATA (in one write when the server offers PIPELINING); their replies in order. */
async function envelope(c: SmtpConnection, commands: string[]): Promise<Reply[]> {
  if (c.features.has("PIPELINING")) {
    c.write(`${commands.join("\r\n")}\r\n`);
    const replies: Reply[] = [];
    for (const _ of commands) replies.push(await c.reply());
    return replies;
  }
  const replies: Reply[] = [];
  for (const cmd of commands) {
    const r = await c.command(cmd);
    replies.push(r);
    if (r.code >= 400) break;
  }
  return replies;
}

/** One message to one recipient; resolves once the server accepted it (250 to the message's end). */
async function transaction(c: SmtpConnection, from: string, to: string, wire: Buffer): Promise<void> {
  const sender = envelopeAddress(from, false);
  const rcpt = envelopeAddress(to, true);
  const utf8 = sender.utf8 || rcpt.utf8;
  if (utf8 && !c.features.has("SMTPUTF8"))
    throw new SmtpError(`the server takes no SMTPUTF8 address (${to})`, "EENVELOPE", rcpt.utf8);
  const limit = Number(c.features.get("SIZE") || 0);
  if (limit > 0 && wire.length > limit)
    throw new SmtpError(`a message of ${wire.length} bytes is over the server's SIZE of ${limit}`, "EMESSAGE");
  const params = `${c.features.has("SIZE") ? ` SIZE=${wire.length}` : ""}${utf8 ? " SMTPUTF8" : ""}`;
  const [mail, rcptReply, data] = await envelope(c, [
    `MAIL FROM:<${sender.address}>${params}`,
    `RCPT TO:<${rcpt.address}>`,
    "DATA",
  ]);
  const failure =
    mail!.code !== 250
      ? refused("the sender", mail!, false)
      : rcptReply!.code !== 250 && rcptReply!.code !== 251
        ? refused(`the recipient ${to}`, rcptReply!, true)
        : data!.code !== 354
          ? refused("DATA", data!, false)
          : undefined;
  if (failure) {
    // A server that said 354 to a DATA without a recipient gets an empty message it will refuse.
    if (data?.code === 354) await c.command(".");
    await reset(c);
    throw failure;
  }
  c.ending = true;
  const out = c.out;
  out.cork();
  out.write(wire);
  out.write(".\r\n");
  out.uncork();
  const end = await c.reply();
  c.ending = false;
  if (end.code !== 250) throw refused("the message", end, true);
  c.sent += 1;
}

/** RSET after a refusal, so the connection can carry the next message; a connection that won't is closed. */
async function reset(c: SmtpConnection): Promise<void> {
  const r = await c.command("RSET").catch(() => undefined);
  if (r?.code !== 250) c.destroy(new SmtpError("the server did not take RSET", "EPROTOCOL"));
}

/**
 * Up to `size` connections to one server, each carrying one message at a time; a send waits
 * for a free one. Idle connections are reused newest first, so the others close when not needed.
 */
export class SmtpPool {
  private idle: SmtpConnection[] = [];
  private open = 0;
  private waiting: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly target: SmtpTarget,
    private readonly size: number,
  ) {}

  /**
   * Resolves once the server accepted the message; rejects with an SmtpError otherwise.
   * `ready`: the caller knows `raw` has CRLF lines and none opening with "." (toWire is skipped).
   */
  async send(from: string, to: string, raw: Buffer, ready = false): Promise<void> {
    const wire = ready ? raw : toWire(raw);
    for (let attempt = 0; ; attempt++) {
      const c = await this.acquire();
      const reused = c.sent > 0;
      try {
        return await transaction(c, from, to, wire);
      } catch (err) {
        // A reused connection the server dropped while it was idle fails before the message's
        // end went out: the server cannot have accepted it, so a fresh connection tries once more.
        if (attempt === 0 && reused && c.broken && !c.ending) continue;
        throw err;
      } finally {
        this.release(c);
      }
    }
  }

  private async acquire(): Promise<SmtpConnection> {
    for (;;) {
      if (this.closed) throw new SmtpError("the SMTP pool is closed", "ECONNECTION");
      const c = this.idle.pop();
      if (c) {
        c.unpark();
        return c;
      }
      if (this.open < this.size) {
        this.open += 1;
        // A failed open closes its connection, and gone() counts it out.
        return openConnection(this.target, (x) => this.gone(x));
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(c: SmtpConnection): void {
    if (c.broken) return;
    if (this.closed || c.sent >= MAX_MESSAGES) {
      c.quit();
      return;
    }
    c.park();
    this.idle.push(c);
    this.waiting.shift()?.();
  }

  /** A connection closed (QUIT, idle, failure): its place is free. */
  private gone(c: SmtpConnection): void {
    this.open -= 1;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    this.waiting.shift()?.();
  }

  close(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.quit();
    for (const w of this.waiting.splice(0)) w();
  }
}
