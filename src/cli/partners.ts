// `herald partners add | list | remove | replay`: partner outlets that receive signed ninjs webhooks.
import type { Command } from "commander";
import {
  addPartner,
  enablePartner,
  listPartners,
  type PartnerSummary,
  removePartner,
  replayPartner,
  rotateSecret,
} from "../partners/service.ts";
import { action, list, withRuntime } from "./context.ts";

interface AddOptions {
  name: string;
  url: string;
  secret?: string;
  topics?: string;
  regions?: string;
  languages?: string;
  embargoAccess?: boolean;
  allowPrivate?: boolean;
}

export function registerPartners(program: Command): void {
  const partners = program.command("partners").description("partner outlets that receive signed ninjs webhooks");
  registerAdd(partners);
  partners
    .command("list")
    .description("partners with their state, last delivery and dead letters")
    .option("--json", "machine-readable output")
    .action(action(listCommand));
  partners
    .command("remove <id>")
    .description("remove a partner; its pending deliveries are dropped")
    .action(action(removeCommand));
  partners
    .command("rotate-secret <id>")
    .description("give a partner a new signing secret; the old one keeps signing during the overlap")
    .option("--secret <whsec>", "the new secret (default: generated and printed once)")
    .option("--overlap-hours <n>", "hours during which both secrets sign (default 24; 0 = switch now)", "24")
    .action(action(rotateSecretCommand));
  partners
    .command("enable <id>")
    .description("make a disabled partner active again (after a 410 Gone, once they are back)")
    .action(action(enableCommand));
  partners
    .command("replay <id>")
    .description("queue past deliveries again, with their original webhook-ids")
    .option("--since <iso>", "only events queued at or after this time")
    .option("--dead-letters", "only the dead letters")
    .action(action(replayCommand));
}

function registerAdd(partners: Command): void {
  partners
    .command("add")
    .description("add a partner; prints its id and, when generated, its secret (shown once)")
    .requiredOption("--name <name>", "the partner's name")
    .requiredOption("--url <url>", "https:// endpoint that receives the webhooks")
    .option("--secret <whsec>", "the partner's Standard Webhooks secret (whsec_…); generated when omitted")
    .option("--topics <a,b>", "only releases with one of these topics")
    .option("--regions <x,y>", "only releases with one of these regions")
    .option("--languages <en,fr>", "only releases in these languages")
    .option("--embargo-access", "also receive embargoed releases early (ninjs embargoedUntil set)")
    .option("--allow-private", "allow http:// and private, loopback or link-local addresses")
    .action(action(addCommand));
}

async function addCommand(o: AddOptions): Promise<void> {
  await withRuntime(async (rt) => {
    const r = await addPartner(rt, {
      name: o.name,
      url: o.url,
      ...(o.secret ? { secret: o.secret } : {}),
      topics: o.topics ? list(o.topics) : [],
      regions: o.regions ? list(o.regions) : [],
      languages: o.languages ? list(o.languages) : [],
      embargoAccess: Boolean(o.embargoAccess),
      allowPrivate: Boolean(o.allowPrivate),
    });
    process.stdout.write(`${r.partner.id}\n`);
    if (r.generatedSecret) {
      process.stdout.write(`secret: ${r.generatedSecret}\n`);
      process.stderr.write("give this secret to the partner now: it is not shown again\n");
    }
  });
}

async function listCommand(o: { json?: boolean }): Promise<void> {
  await withRuntime(async (rt) => {
    const rows = await listPartners(rt);
    process.stdout.write(o.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatPartnerList(rows)}\n`);
  });
}

/** The partners table: state, filters, last delivery and dead letters; never a secret. */
export function formatPartnerList(rows: PartnerSummary[]): string {
  if (rows.length === 0) return "no partners yet: add one with herald partners add --name NAME --url https://…";
  const filters = (p: PartnerSummary["partner"]) =>
    [
      p.topics.length ? `topics=${p.topics.join(",")}` : "",
      p.regions.length ? `regions=${p.regions.join(",")}` : "",
      p.languages.length ? `languages=${p.languages.join(",")}` : "",
      p.embargoAccess ? "embargo" : "",
      p.allowPrivate ? "private-ok" : "",
    ]
      .filter(Boolean)
      .join(" ") || "all";
  const last = (s: PartnerSummary) =>
    s.lastDelivery
      ? `${s.lastDelivery.at} ${s.lastDelivery.outcome}${s.lastDelivery.status ? ` ${s.lastDelivery.status}` : ""} (${s.lastDelivery.releaseId} r${s.lastDelivery.revision})`
      : "never";
  const header = ["id", "name", "state", "url", "filters", "last delivery", "dead letters"];
  const body = rows.map((s) => [
    s.partner.id,
    s.partner.name,
    s.partner.status === "disabled" ? `disabled: ${s.partner.disabledReason ?? ""}` : "active",
    s.partner.url,
    filters(s.partner),
    last(s),
    String(s.deadLetters),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), ...body.map(line)].join("\n");
}

async function removeCommand(id: string): Promise<void> {
  await withRuntime(async (rt) => {
    await removePartner(rt, id);
    process.stdout.write(`removed ${id}\n`);
  });
}

async function rotateSecretCommand(id: string, o: { secret?: string; overlapHours: string }): Promise<void> {
  await withRuntime(async (rt) => {
    const r = await rotateSecret(rt, id, { secret: o.secret, overlapHours: Number(o.overlapHours) });
    process.stdout.write(
      `${o.secret ? "new secret set" : `new secret (shown once): ${r.secret}`}\n` +
        (r.previousUntil ? `the old secret also signs until ${r.previousUntil}\n` : "the old secret no longer signs\n"),
    );
  });
}

async function enableCommand(id: string): Promise<void> {
  await withRuntime(async (rt) => {
    await enablePartner(rt, id);
    process.stdout.write(`enabled ${id}; replay what it missed with herald partners replay ${id} --since ISO\n`);
  });
}

async function replayCommand(id: string, o: { since?: string; deadLetters?: boolean }): Promise<void> {
  await withRuntime(async (rt) => {
    const r = await replayPartner(rt, id, {
      since: o.since,
      deadLetters: o.deadLetters,
      onProgress: (done, total) => process.stderr.write(`queued ${done}/${total}\n`),
    });
    process.stdout.write(
      r.queued === 0
        ? `nothing to replay for ${id}\n`
        : `queued ${r.queued} deliveries for ${id} (first job ${r.jobIds[0]}); watch them with herald partners list\n`,
    );
  });
}
