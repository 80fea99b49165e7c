// <link rel="alternate"> autodiscovery tags (RSS Autodiscovery, Atom RFC 4287 §7.1, JSON Feed
// §"Discovery"), for the <head> of any HTML page Herald serves. Without `feeds` the tags name
// the global feed in its three formats.
import type { Config } from "../config/index.ts";
import type { FeedKey } from "../vocabulary.ts";
import { escapeHtml } from "../releases/sanitize.ts";
import { FORMAT_TYPE, FORMATS, feedTitle, feedUrl, formatLabel } from "./keys.ts";

export function discoveryLinks(config: Config, feeds: FeedKey[] = ["all"]): string {
  return feeds
    .flatMap((key) =>
      FORMATS.map(
        (f) =>
          `<link rel="alternate" type="${FORMAT_TYPE[f]}" title="${escapeHtml(`${feedTitle(config, key)} (${formatLabel(f)})`)}" href="${escapeHtml(feedUrl(config, key, f))}">`,
      ),
    )
    .join("\n");
}
