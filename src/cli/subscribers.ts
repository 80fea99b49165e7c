// `herald subscribers add | import FILE.csv | list | remove`.
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { formatIssues } from "../releases/model.ts";
import { decodeCsv, readSubscriberCsv } from "../subscribers/csv.ts";
import { CLEAR, type SubscriberPatch } from "../subscribers/model.ts";
import type { Runtime } from "../runtime.ts";
import { SubscriberService } from "../subscribers/service.ts";
import { isProbablyBinary } from "../releases/importer.ts";
import { action, CliError, list, readBytesFile, withRuntime } from "./context.ts";

interface AddOptions {
  name?: string;
  language?: string;
  frequency?: string;
  topics?: string;
  regions?: string;
  timezone?: string;
  confirmed?: boolean;
}

const IMPORT_CHUNK = 500;

export function registerSubscribers(program: Command): void {
  const cmd = program.command("subscribers").description("email subscribers: add, import, list, remove");
  registerAdd(cmd);
  cmd
    .command("import FILE")
    .description(
      "import a UTF-8 CSV: email,name,language,frequency,topics,regions,timezone (topics/regions ;-separated; an empty cell keeps the field, - clears it)",
    )
    .option("--pending", "send each new address a confirmation email instead of subscribing it directly")
    .action(action(importCommand));
  cmd
    .command("list")
    .description("every subscriber, oldest first")
    .option("--json", "one JSON object per line")
    .action(action(listCommand));
  cmd.command("remove EMAIL").description("erase a subscriber and their preferences").action(action(removeCommand));
}

function registerAdd(cmd: Command): void {
  cmd
    .command("add EMAIL")
    .description(
      "add or update a subscriber: only the options given change (- clears one); without --confirmed a pending reader gets a confirmation email",
    )
    .option("--name <name>", "display name (- removes it)")
    .option("--language <code>", "en, fr or es (- = en)")
    .option("--frequency <f>", "immediate, daily or weekly (- = daily)")
    .option("--topics <a,b>", "topic slugs (- = all topics)")
    .option("--regions <x,y>", "region slugs (- = all regions)")
    .option("--timezone <Area/City>", "IANA time zone for digests (- = DEFAULT_TIMEZONE)")
    .option("--confirmed", "skip the opt-in email: you already hold their consent")
    .action(action(addCommand));
}

async function addCommand(email: string, o: AddOptions): Promise<void> {
  await withRuntime(async (rt) => {
    const input = {
      email,
      name: o.name,
      language: o.language,
      frequency: o.frequency,
      topics: o.topics?.trim() === CLEAR ? CLEAR : o.topics ? list(o.topics) : undefined,
      regions: o.regions?.trim() === CLEAR ? CLEAR : o.regions ? list(o.regions) : undefined,
      timezone: o.timezone,
    };
    const { subscriber: s, created } = await new SubscriberService(rt).upsert(input, {
      confirmed: o.confirmed === true,
    });
    const what = s.status === "pending" ? "; a confirmation email is queued" : "";
    process.stdout.write(
      `${created ? "added" : "updated"} ${s.email} (${s.status}, ${s.frequency}, ${s.language}, ${s.timezone})${what}\n`,
    );
  });
}

async function importCommand(file: string, o: { pending?: boolean }): Promise<void> {
  const { rows: parsed, errors } = readSubscriberCsv(readCsvText(file));
  for (const e of errors) process.stderr.write(`${file}:${e.line}: ${e.reason}\n`);
  await withRuntime(async (rt) => {
    // Topics and regions must be in the vocabulary, as everywhere: a row naming others is skipped.
    const taxonomy = await rt.taxonomy.current();
    const rows = parsed.filter((r) => {
      const issues = taxonomy.unknownIssues({ topics: r.input.topics ?? [], regions: r.input.regions ?? [] });
      if (issues.length === 0) return true;
      errors.push({ line: r.line, reason: formatIssues(issues) });
      process.stderr.write(`${file}:${r.line}: ${formatIssues(issues)}\n`);
      return false;
    });
    const { created, updated } = await importRows(
      rt,
      rows.map((r) => r.input),
      !o.pending,
    );
    process.stdout.write(
      `imported ${rows.length} row(s): ${created} new, ${updated} updated; ${errors.length} bad row(s) skipped\n`,
    );
  });
  if (errors.length) process.exitCode = 2;
}

/** FILE as text: refused whole, before anything is stored, when binary or not UTF-8 (decodeCsv names the line). */
function readCsvText(file: string): string {
  const bytes = readBytesFile(file, 200);
  const binary = () => new CliError(`${file} looks like a binary file, not text`);
  if (bytes.subarray(0, 64 * 1024).includes(0)) throw binary();
  let text: string;
  try {
    text = decodeCsv(bytes);
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`);
  }
  if (isProbablyBinary(bytes)) throw binary();
  return text;
}

/** Upserts the rows IMPORT_CHUNK at a time, with a progress bar on a terminal. */
async function importRows(
  rt: Runtime,
  rows: SubscriberPatch[],
  confirmed: boolean,
): Promise<{ created: number; updated: number }> {
  const service = new SubscriberService(rt);
  const bar = new SingleBar(
    { format: "importing [{bar}] {value}/{total} rows", hideCursor: true, noTTYOutput: false },
    undefined,
  );
  if (process.stderr.isTTY) bar.start(rows.length, 0);
  let created = 0;
  let updated = 0;
  for (let i = 0; i < rows.length; i += IMPORT_CHUNK) {
    const r = await service.upsertMany(rows.slice(i, i + IMPORT_CHUNK), { confirmed });
    created += r.created;
    updated += r.updated;
    if (process.stderr.isTTY) bar.update(Math.min(rows.length, i + IMPORT_CHUNK));
  }
  if (process.stderr.isTTY) bar.stop();
  return { created, updated };
}

async function listCommand(o: { json?: boolean }): Promise<void> {
  await withRuntime(async (rt) => {
    const store = new SubscriberService(rt).store;
    const total = await store.count();
    if (!o.json) process.stdout.write(`${total} subscriber(s)\n`);
    for await (const page of store.walk(500)) {
      for (const s of page) {
        process.stdout.write(
          o.json
            ? `${JSON.stringify(s)}\n`
            : `${s.email}\t${s.status}\t${s.frequency}\t${s.language}\t${s.timezone}\t${s.topics.join(";") || "*"}\t${s.regions.join(";") || "*"}\n`,
        );
      }
    }
  });
}

async function removeCommand(email: string): Promise<void> {
  await withRuntime(async (rt) => {
    const s = await new SubscriberService(rt).remove(email);
    process.stdout.write(`removed ${s.email}\n`);
  });
}
