// Partner webhooks over HTTPS, from a real worker process. A delivery connects to the address
// the SSRF guard checked, not to the name, so the TLS check must still be made against the URL's
// host name (SNI and certificate name), and a partner's private CA is trusted the standard Node
// way, NODE_EXTRA_CA_CERTS, as the README tells operators. Certificates are made here with the
// openssl command line, for this run only.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addPartner, partnerStore } from "../../src/partners/service.ts";
import { releaseUri } from "../../src/partners/ninjs.ts";
import { ReleaseService } from "../../src/releases/service.ts";
import { sampleRelease } from "../helpers/releases.ts";
import { eventually, type TestRuntime, testRuntime } from "../helpers/runtime.ts";
import { type Receiver, startReceiver } from "../helpers/webhook-receiver.ts";
import { startWorkerProcess, type WorkerProcess } from "./worker-process.ts";

let dir: string;
let rt: TestRuntime;
let worker: WorkerProcess | undefined;
const receivers: Receiver[] = [];

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** A key and a certificate for `name`, signed by the test CA (or by itself). */
function certificate(file: string, name: string, signer: "ca" | "self"): { key: string; cert: string } {
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${file}.key`];
  if (signer === "self") {
    openssl(
      "req",
      "-x509",
      ...key,
      "-out",
      `${file}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      `subjectAltName=DNS:${name}`,
    );
  } else {
    openssl("req", ...key, "-out", `${file}.csr`, "-subj", `/CN=${name}`);
    writeFileSync(path.join(dir, `${file}.ext`), `subjectAltName=DNS:${name}\n`);
    openssl(
      "x509",
      "-req",
      "-in",
      `${file}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      `${file}.pem`,
      "-extfile",
      `${file}.ext`,
    );
  }
  return {
    key: readFileSync(path.join(dir, `${file}.key`), "utf8"),
    cert: readFileSync(path.join(dir, `${file}.pem`), "utf8"),
  };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "herald-tls-"));
  openssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=Herald test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
});

afterAll(async () => {
  await worker?.stop();
  for (const r of receivers) await r.close();
  await rt?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("partner webhooks over HTTPS", { timeout: 90_000 }, () => {
  it("delivers to a certificate for the URL's name from a trusted CA; refuses a wrong name and an untrusted certificate", async () => {
    const good = await startReceiver({ tls: certificate("good", "localhost", "ca"), host: "localhost" });
    const wrongName = await startReceiver({ tls: certificate("wrong", "partner.example", "ca"), host: "localhost" });
    const untrusted = await startReceiver({ tls: certificate("self", "localhost", "self"), host: "localhost" });
    receivers.push(good, wrongName, untrusted);

    rt = await testRuntime({ label: "tls" });
    const partners = new Map<Receiver, string>();
    for (const [name, rx] of [
      ["Good", good],
      ["Wrong name", wrongName],
      ["Untrusted", untrusted],
    ] as const) {
      const { partner, generatedSecret } = await addPartner(rt, { name, url: rx.url("/hook"), allowPrivate: true });
      rx.route("/hook", { secret: generatedSecret! });
      partners.set(rx, partner.id);
    }
    worker = await startWorkerProcess({
      REDIS_URL: rt.redisUrl,
      HERALD_PREFIX: rt.config.prefix,
      VAR_DIR: path.join(dir, "var"),
      NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem"),
      PARTNER_RETRY_SCHEDULE: "0,0.2,0.2",
    });

    const release = await new ReleaseService(rt).publish(sampleRelease({ id: "over-tls", publishedAt: undefined }));
    await eventually(() => good.delivered("/hook").length === 1, 30_000, "the delivery over HTTPS");
    const got = good.delivered("/hook")[0]!;
    expect(got.verified).toBe(true);
    expect(got.json.type).toBe("release.published");
    expect(got.json.data.uri).toBe(releaseUri(rt.config.publicUrl, release.id));

    const errors = async (rx: Receiver) =>
      (await partnerStore(rt).deliveryLog(partners.get(rx)!, 10)).map((e) => e.error ?? "");
    const wrongErrors = await eventually(
      async () => ((await errors(wrongName)).length >= 3 ? errors(wrongName) : null),
      30_000,
      "attempts to the wrong name",
    );
    for (const e of wrongErrors)
      expect(e).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/);
    const untrustedErrors = await eventually(
      async () => ((await errors(untrusted)).length >= 3 ? errors(untrusted) : null),
      30_000,
      "attempts to the untrusted partner",
    );
    for (const e of untrustedErrors) expect(e).toMatch(/SELF_SIGNED|self[- ]signed/i);
    // TLS failed before any request was sent: those partners never saw the payload.
    expect(wrongName.received()).toEqual([]);
    expect(untrusted.received()).toEqual([]);
    expect((await partnerStore(rt).deadLetters(partners.get(wrongName)!)).length).toBe(1);
  });
});
