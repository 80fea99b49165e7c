// The release vocabulary, ground floor: what happens to a release and which feeds it is in.
// Everything that speaks of release events or feed keys (the store's indexes, the channels,
// the queue payloads, HTTP) imports these words from here, so they have one definition.

/**
 * What happened to a release. `embargoed` is stored-but-not-public (only partners with
 * embargo access hear of it); `published` is public now (first publication or embargo lift).
 */
export type ReleaseEvent = "published" | "updated" | "withdrawn" | "embargoed";

/** The facets a release is filed under; each value of each facet has a feed. */
export const FACET_KINDS = ["topics", "regions", "languages"] as const;
export type FacetKind = (typeof FACET_KINDS)[number];

/**
 * A feed is named by a key: "all", "topics/{slug}", "regions/{slug}" or "languages/{code}"
 * (feeds/keys.ts parses and validates one; releases/store.ts indexes public releases by it).
 */
export type FeedKey = string;

/** The key of one facet value's feed: "topics/health". */
export function facetFeedKey(kind: FacetKind, value: string): FeedKey {
  return `${kind}/${value}`;
}

/** Feed keys of a release: the global feed and one per topic, region and language. */
export function feedKeysOf(r: { topics: string[]; regions: string[]; language: string }): FeedKey[] {
  return [
    "all",
    ...r.topics.map((t) => facetFeedKey("topics", t)),
    ...r.regions.map((g) => facetFeedKey("regions", g)),
    facetFeedKey("languages", r.language),
  ];
}

/** Where a release is read on the web when it has no `url` of its own; also its stable id. */
export function releasePageUrl(publicUrl: string, id: string): string {
  return `${publicUrl}/releases/${encodeURIComponent(id)}`;
}
