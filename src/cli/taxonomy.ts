// `herald taxonomy list | add`: the vocabulary of topics and regions releases may use. An entry
// added here is kept in Redis and seen at once by every process (see releases/taxonomy.ts);
// run `herald feeds rebuild` afterwards when it relabels a slug already in use.
import type { Command } from "commander";
import { TAXONOMY_KINDS, type TaxonomyKind } from "../releases/taxonomy.ts";
import { action, CliError, withRuntime } from "./context.ts";

function kindOf(k: string): TaxonomyKind {
  if (!(TAXONOMY_KINDS as readonly string[]).includes(k))
    throw new CliError(`unknown kind ${JSON.stringify(k)}: topics or regions`);
  return k as TaxonomyKind;
}

export function registerTaxonomy(program: Command): void {
  const cmd = program
    .command("taxonomy")
    .description("the topics and regions releases may name, with labels (en, fr, es) and IPTC / ISO codes");

  cmd
    .command("list [KIND]")
    .description("list topics and regions (or only KIND: topics|regions)")
    .option("--json", "print JSON")
    .action(
      action(async (k: string | undefined, o: { json?: boolean }) => {
        const kinds = k ? [kindOf(k)] : [...TAXONOMY_KINDS];
        await withRuntime(async (rt) => {
          const t = await rt.taxonomy.current();
          if (o.json) {
            process.stdout.write(
              `${JSON.stringify(Object.fromEntries(kinds.map((kind) => [kind, t.list(kind)])), null, 2)}\n`,
            );
            return;
          }
          for (const kind of kinds) {
            for (const e of t.list(kind)) {
              const c = t.concept(kind, e.slug);
              process.stdout.write(
                `${kind}\t${e.slug}\t${e.labels.en} | ${e.labels.fr} | ${e.labels.es}\t${[c.code, c.uri].filter(Boolean).join(" ")}\n`,
              );
            }
          }
        });
      }),
    );

  cmd
    .command("add KIND SLUG")
    .description("add (or relabel) a topic or region; every label is required")
    .requiredOption("--en <label>", "English label")
    .requiredOption("--fr <label>", "French label")
    .requiredOption("--es <label>", "Spanish label")
    .option("--iptc <code>", "topics: IPTC Media Topic code, 8 digits (e.g. 20000771)")
    .option("--iso <code>", "regions: ISO 3166-1 alpha-2 code (e.g. DJ)")
    .option("--geonames <id>", "regions: GeoNames feature id (e.g. 223816)")
    .action(
      action(
        async (
          k: string,
          slug: string,
          o: { en: string; fr: string; es: string; iptc?: string; iso?: string; geonames?: string },
        ) => {
          const kind = kindOf(k);
          if (kind === "topics" && (o.iso || o.geonames)) throw new CliError("--iso and --geonames are for regions");
          if (kind === "regions" && o.iptc) throw new CliError("--iptc is for topics");
          if (o.geonames !== undefined && !/^\d+$/.test(o.geonames))
            throw new CliError(`--geonames ${JSON.stringify(o.geonames)}: a GeoNames feature id, digits only`);
          const entry = {
            slug,
            labels: { en: o.en, fr: o.fr, es: o.es },
            ...(o.iptc ? { iptc: o.iptc } : {}),
            ...(o.iso ? { iso: o.iso.toUpperCase() } : {}),
            ...(o.geonames ? { geonames: Number(o.geonames) } : {}),
          };
          await withRuntime(async (rt) => {
            const e = await rt.taxonomy.add(kind, entry);
            process.stdout.write(`added ${kind} ${e.slug} (${e.labels.en} | ${e.labels.fr} | ${e.labels.es})\n`);
          });
        },
      ),
    );
}
