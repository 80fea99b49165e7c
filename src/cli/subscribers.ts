// `herald subscribers add | import FILE.csv | list | remove`.
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { HeraldError } from "../errors.ts";
import { type CheckedCsv, checkCsv, fileSource, importSubscriberCsv } from "../subscribers/csv-import.ts";
import { CLEAR } from "../subscribers/model.ts";
import { type SubscriberDeps, SubscriberService } from "../subscribers/service.ts";
import { isProbablyBinary } from "./binary.ts";
import { action, CliError, checkFile, list, readHead, withRuntime } from "./context.ts";

interface AddOptions {
  name?: string;
  language?: string;
  frequency?: string;
  topics?: string;
  regions?: string;
  timezone?: string;
  confirmed?: boolean;
}

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
  checkFile(file, 200 * 1024 * 1024);
  const head = readHead(file, 64 * 1024);
  const binary = () => new CliError(`${file} looks like a binary file, not text`);
  if (head.includes(0)) throw binary();
  // Refused whole (not UTF-8, a quote that never closes, a bad header) before anything is stored.
  const csv = await checkCsv(fileSource(file)).catch((err: unknown) => {
    throw err instanceof HeraldError ? new CliError(`${file}: ${err.message}`) : err;
  });
  if (isProbablyBinary(head)) throw binary();
  await withRuntime(async (rt) => {
    const r = await importWithProgress(rt, file, csv, !o.pending);
    process.stdout.write(
      `imported ${r.imported} row(s): ${r.created} new, ${r.updated} updated; ${r.bad} bad row(s) skipped\n`,
    );
    if (r.bad) process.exitCode = 2;
  });
}

/** Streams the checked file in, with a progress bar on a terminal; bad rows are reported as found. */
async function importWithProgress(rt: SubscriberDeps, file: string, csv: CheckedCsv, confirmed: boolean) {
  const tty = process.stderr.isTTY;
  const bar = new SingleBar(
    { format: "importing [{bar}] {value}/{total} rows", hideCursor: true, noTTYOutput: false, clearOnComplete: true },
    undefined,
  );
  let done = 0;
  if (tty) bar.start(csv.rows, 0);
  const r = await importSubscriberCsv(rt, csv, {
    confirmed,
    // On a terminal the bar steps aside for the line and comes back below it.
    onRowError: (e) => {
      if (tty) bar.stop();
      process.stderr.write(`${file}:${e.line}: ${e.reason}\n`);
      if (tty) bar.start(csv.rows, done);
    },
    onProgress: (n) => {
      done = n;
      if (tty) bar.update(n);
    },
  });
  if (tty) bar.stop();
  return r;
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
