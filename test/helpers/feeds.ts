// Parsing feeds in tests with two independent parsers each: rss-parser (xml2js) for every
// XML format and fast-xml-parser, which also checks well-formedness; JSON Feed with JSON.parse.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import Parser from "rss-parser";
import { expect } from "vitest";
import type { Config } from "../../src/config/index.ts";
import { feedMeta } from "../../src/feeds/item.ts";
import type { Release } from "../../src/releases/model.ts";
import { buildRelease, parseReleaseInput } from "../../src/releases/service.ts";
import { sampleRelease } from "./releases.ts";
import type { ReleaseInput } from "../../src/releases/model.ts";

export type RssParserItem = Parser.Item & {
  id?: string;
  "atom:updated"?: string;
  "content:encoded"?: string;
  updated?: string;
};

const rssParser = new Parser<Record<string, unknown>, RssParserItem>({
  customFields: { item: ["atom:updated", "content:encoded", "updated"] },
});

export async function parseWithRssParser(xml: string) {
  return rssParser.parseString(xml);
}

const fxp = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  textNodeName: "#text",
  // Always arrays where feeds repeat, so one item and many items look the same.
  isArray: (name) => ["item", "entry", "category", "link", "atom:link"].includes(name),
  processEntities: { maxTotalExpansions: 1_000_000, maxEntityCount: 1_000_000 },
  htmlEntities: false,
  parseTagValue: false,
  trimValues: false,
});

/** Validates well-formedness, then parses; fails the test with the parser's reason. */
export function parseWithFxp(xml: string) {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) expect.fail(`not well-formed XML: ${JSON.stringify(valid.err)}`);
  // biome-ignore lint/suspicious/noExplicitAny: a parsed XML tree is untyped by nature
  return fxp.parse(xml) as any;
}

/** A stored-shape Release from test input, as the service would build it at `now`. */
export function release(
  overrides: Partial<ReleaseInput> = {},
  opts: { id?: string; revision?: number; now?: string; previous?: Release; correction?: string } = {},
): Release {
  const input = parseReleaseInput(sampleRelease(overrides));
  const now = Date.parse(opts.now ?? "2026-11-28T10:00:00Z");
  return buildRelease(
    input,
    opts.id ?? input.id ?? "sample",
    opts.revision ?? 1,
    now,
    opts.previous ?? null,
    opts.correction,
  );
}

export function metaFor(config: Config, key: string, releases: Release[]) {
  return feedMeta(config, key, releases);
}

/** Text of an fxp node that may be a plain string or {#text, @_attrs}. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export function text(node: any): string {
  return typeof node === "string" ? node : (node?.["#text"] ?? "");
}
