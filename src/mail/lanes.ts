// A few items at a time, in lanes: each lane takes the next item as soon as its last one settled,
// so a slow item holds up its own lane, never a whole group (send-emails.ts sends a batch's
// messages this way, IN_FLIGHT at once).

/** Why the lanes stopped early: the first lane (in lane order) that threw, with its error. */
export interface LaneFailure {
  error: unknown;
}

/**
 * Runs `work` over `items`, `lanes` at a time. A throw stops every lane before its next item (the
 * items in hand finish), and so does `halted()` turning true. Resolves once every lane has
 * stopped, never rejects: the failure, if any, is returned.
 */
export async function inLanes<T>(
  items: readonly T[],
  lanes: number,
  work: (item: T) => Promise<void>,
  halted: () => boolean,
): Promise<LaneFailure | undefined> {
  let next = 0;
  let stop = false;
  const lane = async () => {
    while (!stop && !halted() && next < items.length) {
      try {
        await work(items[next++]!);
      } catch (err) {
        stop = true;
        throw err;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(lanes, items.length) }, lane));
  const failed = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
  return failed ? { error: failed.reason } : undefined;
}
