// The one Redis key builder. Every data key Herald writes is `{prefix}:part:part…` (queues
// have their own prefix: runtime.ts queuePrefix). A store, the runtime and the HTTP limits
// all build their keys through keyBuilder, so the separator and the prefix rule live here only.

/** Builds `{prefix}:{scope…}:{parts…}`. */
export type KeyBuilder = (...parts: string[]) => string;

/** A key builder for HERALD_PREFIX (and an optional scope: `keyBuilder(p, "partners")`). */
export function keyBuilder(prefix: string, ...scope: string[]): KeyBuilder {
  const head = [prefix, ...scope];
  return (...parts) => [...head, ...parts].join(":");
}
