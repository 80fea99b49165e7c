// A translation can be published while its original is still under embargo (or before the
// original exists at all). Until the original is public, nothing public may name it: its id is a
// slug that often is its headline. Feeds and partners without embargo access get such a
// translation without `translationOf`; the release page only ever links published versions.
import type { Release } from "./model.ts";
import type { ReleaseStore } from "./store.ts";

/** Whether the public may learn of this original: it exists and is (or was) public. */
export function originalIsPublic(original: Release | null | undefined): boolean {
  return !!original && original.status !== "embargoed";
}

/** The releases, each translation of an original that is not public yet without its link to it. */
export async function withPublicOriginals(store: ReleaseStore, releases: Release[]): Promise<Release[]> {
  const ids = [...new Set(releases.map((r) => r.translationOf).filter((id): id is string => !!id))];
  if (ids.length === 0) return releases;
  const shown = new Set((await store.getMany(ids)).filter(originalIsPublic).map((o) => o.id));
  return releases.map((r) => (r.translationOf && !shown.has(r.translationOf) ? withoutOriginal(r) : r));
}

function withoutOriginal(r: Release): Release {
  const { translationOf: _hidden, ...rest } = r;
  return rest;
}
