// Herald's SMTP client (src/mail/smtp.ts) against a real SMTP server (npm smtp-server) on a
// random port: bytes arrive as they were sent, a "." at a line's start or a bare line break can
// never end DATA early, refusals are permanent only when they are about the recipient, a
// connection the server dropped while idle is replaced without losing the send, STARTTLS, TLS
// from the start and AUTH work, and the pool never opens more connections than it may.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { type SMTPServerOptions, SMTPServer } from "smtp-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SmtpError, SmtpPool, smtpTarget, toWire } from "../../src/mail/smtp.ts";
import { makeTls } from "../helpers/redis-ha.ts";

interface Got {
  from: string;
  to: string[];
  data: Buffer;
  secure: boolean;
  user?: string;
}

const servers: SMTPServer[] = [];
const pools: SmtpPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.close();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A server keeping what it got; `options` are smtp-server's (onRcptTo to refuse, hide… to hide extensions). */
async function server(options: Partial<SMTPServerOptions> = {}) {
  const got: Got[] = [];
  const live = { now: 0, max: 0, opened: 0 };
  /** Every byte clients sent, as they sent it (the commands included). */
  const wire: Buffer[] = [];
  const s = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    onConnect(_session, cb) {
      live.opened += 1;
      live.now += 1;
      live.max = Math.max(live.max, live.now);
      cb();
    },
    onClose() {
      live.now -= 1;
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        got.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks),
          secure: session.secure,
          ...(session.user ? { user: String(session.user) } : {}),
        });
        cb();
      });
    },
    ...options,
  });
  servers.push(s);
  s.server.on("connection", (sock: net.Socket) => sock.on("data", (d: Buffer) => wire.push(d)));
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.server.address() as net.AddressInfo).port;
  return {
    got,
    live,
    port,
    server: s,
    sent: () => Buffer.concat(wire).toString("latin1"),
    chunks: () => wire.map((w) => w.toString("latin1")),
  };
}

function pool(url: string, size = 4, timeouts?: { connectMs: number; replyMs: number }): SmtpPool {
  const target = smtpTarget(url);
  const p = new SmtpPool(timeouts ? { ...target, timeouts } : target, size);
  pools.push(p);
  return p;
}

/** What a hand-written server (raw) has seen: messages whose end ("." line) arrived, and every command. */
interface RawState {
  messages: number;
  commands: string[];
  inData: boolean;
}

/**
 * A hand-written SMTP server, for what smtp-server will not do (hang up after a message's end,
 * stay silent, speak old dialects): `handle` answers each command line ("." ends a message);
 * `answer` is the ordinary answer to one.
 */
async function raw(handle: (line: string, sock: net.Socket, st: RawState) => void, greet = true) {
  const st: RawState = { messages: 0, commands: [], inData: false };
  const srv = net.createServer((sock) => {
    sock.on("error", () => {});
    if (greet) sock.write("220 raw ESMTP\r\n");
    let buf = "";
    sock.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (st.inData && line !== ".") continue;
        if (line === ".") {
          st.inData = false;
          st.messages += 1;
        } else st.commands.push(line);
        handle(line, sock, st);
      }
    });
  });
  rawServers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return { st, url: `smtp://127.0.0.1:${(srv.address() as net.AddressInfo).port}` };
}
const rawServers: net.Server[] = [];
afterEach(() => {
  for (const r of rawServers.splice(0)) r.close();
});

/** The ordinary answer to a command line of raw(). */
function answer(line: string, sock: net.Socket, st: RawState, ehlo = "250-raw\r\n250 PIPELINING"): void {
  const verb = line.split(" ")[0]!.toUpperCase();
  if (verb === "EHLO") sock.write(`${ehlo}\r\n`);
  else if (verb === "DATA") {
    st.inData = true;
    sock.write("354 go on\r\n");
  } else if (verb === "QUIT") sock.end("221 bye\r\n");
  else sock.write("250 ok\r\n");
}
const FAST = { connectMs: 300, replyMs: 300 };

const message = (body: string) => Buffer.from(`Subject: test\r\nTo: r@example.org\r\n\r\n${body}\r\n`, "latin1");

describe("SMTP client: bytes", () => {
  it("a CRLF message with no line opening with '.' arrives byte for byte, through one pipelined write", async () => {
    const s = await server();
    const p = pool(`smtp://127.0.0.1:${s.port}`);
    const raw = message("Hello=2E\r\nline two . with dots.\r\n=2E.. done");
    expect(toWire(raw)).toBe(raw); // no copy
    await p.send("news@example.org", "r@example.org", raw);
    // MAIL, RCPT and DATA arrive in one piece (one write).
    expect(s.chunks()).toContain("MAIL FROM:<news@example.org>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n");
    expect(s.got).toHaveLength(1);
    expect(s.got[0]!.data.equals(raw)).toBe(true);
    expect(s.got[0]!.from).toBe("news@example.org");
    expect(s.got[0]!.to).toEqual(["r@example.org"]);
  });

  it("dots opening lines are doubled and bare CR/LF normalised: every SMTP-smuggling ending stays inside the one message", async () => {
    const s = await server();
    const p = pool(`smtp://127.0.0.1:${s.port}`);
    const endings = ["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\r\n.\r\n"];
    for (const [i, end] of endings.entries()) {
      const raw = Buffer.from(
        `Subject: ${i}\r\n\r\n.starts with a dot${end}MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nsmuggled\r\n`,
        "latin1",
      );
      await p.send("news@example.org", "r@example.org", raw);
    }
    expect(s.got).toHaveLength(endings.length);
    for (const g of s.got) {
      expect(g.to).toEqual(["r@example.org"]);
      const text = g.data.toString("latin1");
      expect(text).toContain("\r\n.starts with a dot\r\n.\r\nMAIL FROM:<evil@example.org>\r\n");
      expect(text).toContain("smuggled");
      expect(/(^|[^\r])\n|\r(?!\n)/.test(text)).toBe(false); // CRLF only
    }
  });

  it("without PIPELINING the commands go one at a time, and the message still arrives", async () => {
    const s = await server({ hidePIPELINING: true });
    const p = pool(`smtp://127.0.0.1:${s.port}`);
    await p.send("news@example.org", "r@example.org", message("one"));
    await p.send("news@example.org", "r2@example.org", message("two"));
    expect(s.got.map((g) => g.to[0])).toEqual(["r@example.org", "r2@example.org"]);
    expect(s.live.opened).toBe(1);
  });
});

describe("SMTP client: refusals", () => {
  it("a 550 to the recipient is permanent with its code; the connection is reset and carries the next message", async () => {
    const s = await server({
      onRcptTo(a, _s, cb) {
        if (a.address === "gone@example.org")
          return cb(Object.assign(new Error("no such user"), { responseCode: 550 }));
        cb();
      },
    });
    const p = pool(`smtp://127.0.0.1:${s.port}`, 1);
    const err = await p.send("news@example.org", "gone@example.org", message("x")).catch((e) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect(err).toMatchObject({ permanent: true, responseCode: 550, code: "EENVELOPE" });
    expect(err.response).toMatch(/^550 .*no such user/);
    await p.send("news@example.org", "here@example.org", message("y"));
    expect(s.got.map((g) => g.to)).toEqual([["here@example.org"]]);
    expect(s.live.opened).toBe(1);
  });

  it("a 4xx to the recipient is transient; a 5xx to the sender is transient too (it is not the reader's fault)", async () => {
    const s = await server({
      onRcptTo(_a, _s, cb) {
        cb(Object.assign(new Error("mailbox busy"), { responseCode: 452 }));
      },
    });
    const p = pool(`smtp://127.0.0.1:${s.port}`);
    const busy = await p.send("news@example.org", "r@example.org", message("x")).catch((e) => e);
    expect(busy).toMatchObject({ permanent: false, responseCode: 452 });
    const t = await server({
      onMailFrom(_a, _s, cb) {
        cb(Object.assign(new Error("sender not allowed"), { responseCode: 553 }));
      },
    });
    const q = pool(`smtp://127.0.0.1:${t.port}`);
    const sender = await q.send("news@example.org", "r@example.org", message("x")).catch((e) => e);
    expect(sender).toMatchObject({ permanent: false, responseCode: undefined });
    expect(sender.message).toMatch(/sender refused: 553/);
    expect(t.got).toHaveLength(0);
  });

  it("a 5xx to the message's end is permanent (this recipient's message was refused)", async () => {
    const s = await server({
      onData(stream, _s, cb) {
        stream.resume();
        stream.on("end", () => cb(Object.assign(new Error("content refused"), { responseCode: 554 })));
      },
    });
    const p = pool(`smtp://127.0.0.1:${s.port}`);
    const err = await p.send("news@example.org", "r@example.org", message("x")).catch((e) => e);
    expect(err).toMatchObject({ permanent: true, responseCode: 554 });
  });

  it("addresses that would add a command, or that the server cannot take, are refused before anything is sent", async () => {
    const s = await server({ hideSMTPUTF8: true });
    const p = pool(`smtp://127.0.0.1:${s.port}`);
    for (const bad of ["r@example.org>\r\nRCPT TO:<x@evil.org", "a b@example.org", "nodomain", "r@"]) {
      const err = await p.send("news@example.org", bad, message("x")).catch((e) => e);
      expect(err).toMatchObject({ code: "EENVELOPE", permanent: true });
    }
    const utf8 = await p.send("news@example.org", "josé@example.org", message("x")).catch((e) => e);
    expect(utf8).toMatchObject({ code: "EENVELOPE", permanent: true });
    // An international domain goes as its ASCII form.
    await p.send("news@example.org", "r@bücher.example", message("x"));
    expect(s.got).toHaveLength(1);
    expect(s.sent()).toContain("RCPT TO:<r@xn--bcher-kva.example>\r\n");
    expect(s.sent()).not.toContain("SMTPUTF8");
  });

  it("SMTPUTF8 is asked for when the server offers it and the address needs it", async () => {
    const s = await server();
    const p = pool(`smtp://127.0.0.1:${s.port}`);
    await p.send("news@example.org", "josé@example.org", message("x"));
    expect(s.got.map((g) => g.to[0])).toEqual(["josé@example.org"]);
    expect(s.sent()).toContain("MAIL FROM:<news@example.org> SMTPUTF8\r\n");
  });

  it("a message over the server's SIZE is refused before DATA, as transient (ops raise the limit)", async () => {
    const s = await server({ size: 1000 });
    const p = pool(`smtp://127.0.0.1:${s.port}`);
    const err = await p.send("news@example.org", "r@example.org", message("x".repeat(2000))).catch((e) => e);
    expect(err).toMatchObject({ code: "EMESSAGE", permanent: false });
    expect(s.got).toHaveLength(0);
    // Under the limit: the size is declared (RFC 1870).
    const small = message("x");
    await p.send("news@example.org", "r@example.org", small);
    expect(s.sent()).toContain(`MAIL FROM:<news@example.org> SIZE=${small.length}\r\n`);
  });
});

describe("SMTP client: connections", () => {
  it("never opens more connections than its size; all messages arrive", async () => {
    const s = await server();
    const p = pool(`smtp://127.0.0.1:${s.port}`, 3);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => p.send("n@example.org", `r${i}@example.org`, message(`m${i}`))),
    );
    expect(s.got).toHaveLength(40);
    expect(s.live.max).toBeLessThanOrEqual(3);
    expect(s.live.opened).toBeLessThanOrEqual(3);
  });

  it("a connection the server dropped while idle is replaced and the send goes through", async () => {
    const s = await server();
    const p = pool(`smtp://127.0.0.1:${s.port}`, 1);
    await p.send("n@example.org", "a@example.org", message("a"));
    // The server drops every open connection (as one does after its idle timeout).
    for (const c of (s.server as unknown as { connections: Set<{ close(): void }> }).connections) c.close();
    await new Promise((r) => setTimeout(r, 50));
    await p.send("n@example.org", "b@example.org", message("b"));
    expect(s.got.map((g) => g.to[0])).toEqual(["a@example.org", "b@example.org"]);
    expect(s.live.opened).toBe(2);
  });

  it("nobody listening: a transient ECONNECTION, and the pool's place is given back", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const p = pool(`smtp://127.0.0.1:${port}`, 1);
    for (let i = 0; i < 3; i++) {
      const err = await p.send("n@example.org", "a@example.org", message("a")).catch((e) => e);
      expect(err).toMatchObject({ code: "ECONNECTION", permanent: false });
    }
  });

  it("a server that answers garbage is a protocol error, not a hang", async () => {
    const raw = net.createServer((sock) => sock.write("hello, this is not SMTP\r\n"));
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    const port = (raw.address() as net.AddressInfo).port;
    try {
      const err = await pool(`smtp://127.0.0.1:${port}`)
        .send("n@example.org", "a@example.org", message("a"))
        .catch((e) => e);
      expect(err).toMatchObject({ code: "EPROTOCOL", permanent: false });
    } finally {
      raw.close();
    }
  });

  it("close() refuses further sends", async () => {
    const s = await server();
    const p = pool(`smtp://127.0.0.1:${s.port}`);
    await p.send("n@example.org", "a@example.org", message("a"));
    p.close();
    await expect(p.send("n@example.org", "b@example.org", message("b"))).rejects.toMatchObject({
      code: "ECONNECTION",
    });
  });
});

describe("SMTP client: a server that misbehaves", () => {
  it("one that never greets: a transient ETIMEDOUT after the connect timeout, not a hang", async () => {
    const r = await raw(() => {}, false);
    const t0 = Date.now();
    const err = await pool(r.url, 1, { connectMs: 300, replyMs: 60_000 })
      .send("n@example.org", "a@example.org", message("a"))
      .catch((e) => e);
    expect(err).toMatchObject({ code: "ETIMEDOUT", permanent: false });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("one that hangs up after a message's end, before its reply: transient, and never sent again (even on a reused connection)", async () => {
    const r = await raw((line, sock, st) => {
      if (line === "." && st.messages === 2) sock.destroy();
      else answer(line, sock, st);
    });
    const p = pool(r.url, 1, FAST);
    await p.send("n@example.org", "a@example.org", message("a"));
    const err = await p.send("n@example.org", "b@example.org", message("b")).catch((e) => e);
    expect(err).toMatchObject({ code: "ECONNECTION", permanent: false });
    // The server may have accepted it: the client must not try again on a fresh connection.
    await new Promise((res) => setTimeout(res, 200));
    expect(r.st.messages).toBe(2);
    await p.send("n@example.org", "c@example.org", message("c"));
    expect(r.st.messages).toBe(3);
  });

  it("one that goes silent after a message's end: ETIMEDOUT, and never sent again", async () => {
    const r = await raw((line, sock, st) => {
      if (line !== "." || st.messages !== 2) answer(line, sock, st);
    });
    const p = pool(r.url, 1, FAST);
    await p.send("n@example.org", "a@example.org", message("a"));
    const err = await p.send("n@example.org", "b@example.org", message("b")).catch((e) => e);
    expect(err).toMatchObject({ code: "ETIMEDOUT", permanent: false });
    await new Promise((res) => setTimeout(res, 400));
    expect(r.st.messages).toBe(2);
  });

  it("one that hangs up during the STARTTLS handshake: ETLS, nothing sent", async () => {
    const r = await raw((line, sock, st) => {
      if (line === "STARTTLS") sock.end("220 go ahead\r\n");
      else answer(line, sock, st, "250-raw\r\n250 STARTTLS");
    });
    const err = await pool(r.url, 1, FAST)
      .send("n@example.org", "a@example.org", message("a"))
      .catch((e) => e);
    expect(err).toMatchObject({ code: "ETLS", permanent: false });
    expect(r.st.messages).toBe(0);
  });

  it("one that says 220 to STARTTLS and then nothing: ETLS after the connect timeout, not a hang", async () => {
    const r = await raw((line, sock, st) => {
      if (line === "STARTTLS") sock.write("220 go ahead\r\n");
      else answer(line, sock, st, "250-raw\r\n250 STARTTLS");
    });
    const err = await pool(r.url, 1, { connectMs: 300, replyMs: 60_000 })
      .send("n@example.org", "a@example.org", message("a"))
      .catch((e) => e);
    expect(err).toMatchObject({ code: "ETLS", permanent: false });
  });

  it("an old server's AUTH=PLAIN is understood", async () => {
    const r = await raw((line, sock, st) => {
      if (line.startsWith("AUTH PLAIN ")) sock.write("235 welcome\r\n");
      else answer(line, sock, st, "250-raw\r\n250-AUTH=PLAIN\r\n250 PIPELINING");
    });
    await pool(`smtp://u:p@${r.url.slice("smtp://".length)}`, 1, FAST).send(
      "n@example.org",
      "a@example.org",
      message("a"),
    );
    const auth = r.st.commands.find((c) => c.startsWith("AUTH PLAIN "))!;
    expect(Buffer.from(auth.slice(11), "base64").toString()).toBe("\0u\0p");
    expect(r.st.messages).toBe(1);
  });
});

describe("SMTP client: TLS and login", () => {
  // A certificate for 127.0.0.1 signed by a throwaway CA the client does not know.
  let key = "";
  let cert = "";
  const dir = mkdtempSync(path.join(tmpdir(), "herald-smtp-tls-"));
  beforeAll(async () => {
    const t = await makeTls(dir);
    key = readFileSync(t.key, "utf8");
    cert = readFileSync(t.cert, "utf8");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("upgrades with STARTTLS when offered and logs in with AUTH PLAIN", async () => {
    const s = await server({
      disabledCommands: [],
      key,
      cert,
      onAuth(auth, _s, cb) {
        if (auth.username === "herald" && auth.password === "p@ss word") return cb(null, { user: auth.username });
        cb(new Error("bad login"));
      },
    });
    const p = pool(`smtp://herald:p%40ss%20word@127.0.0.1:${s.port}?tls.rejectUnauthorized=false`);
    await p.send("n@example.org", "a@example.org", message("a"));
    expect(s.got[0]).toMatchObject({ secure: true, user: "herald" });
    const wrong = pool(`smtp://herald:nope@127.0.0.1:${s.port}?tls.rejectUnauthorized=false`);
    const err = await wrong.send("n@example.org", "a@example.org", message("a")).catch((e) => e);
    expect(err).toMatchObject({ code: "EAUTH", permanent: false });
  });

  it("AUTH LOGIN when the server offers only that", async () => {
    const s = await server({
      disabledCommands: ["STARTTLS"],
      authMethods: ["LOGIN"],
      allowInsecureAuth: true,
      onAuth(auth, _s, cb) {
        cb(null, { user: auth.username });
      },
    });
    const p = pool(`smtp://u:p@127.0.0.1:${s.port}`);
    await p.send("n@example.org", "a@example.org", message("a"));
    expect(s.got[0]).toMatchObject({ user: "u", secure: false });
  });

  it("checks the server's certificate unless told not to; smtps:// is TLS from the first byte", async () => {
    const s = await server({ disabledCommands: ["AUTH"], key, cert });
    const strict = pool(`smtp://127.0.0.1:${s.port}`);
    const err = await strict.send("n@example.org", "a@example.org", message("a")).catch((e) => e);
    expect(err).toMatchObject({ code: "ETLS", permanent: false });
    expect(s.got).toHaveLength(0);
    const t = await server({ secure: true, disabledCommands: ["AUTH"], key, cert });
    await pool(`smtps://127.0.0.1:${t.port}?tls.rejectUnauthorized=false`).send(
      "n@example.org",
      "a@example.org",
      message("a"),
    );
    expect(t.got[0]).toMatchObject({ secure: true });
  });

  it("requireTLS: no STARTTLS offered means no send", async () => {
    const s = await server();
    const err = await pool(`smtp://127.0.0.1:${s.port}?requireTLS=true`)
      .send("n@example.org", "a@example.org", message("a"))
      .catch((e) => e);
    expect(err).toMatchObject({ code: "ETLS", permanent: false });
    expect(s.got).toHaveLength(0);
  });
});
