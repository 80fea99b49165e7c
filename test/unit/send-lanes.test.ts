// The two units the email send loop runs on: lanes (a bounded number of sends in flight, a
// throw stops them all) and the grouped ledger writer (every accepted send is written, one
// write at a time, and flush() waits for all of them). The ledger here is a stand-in for its
// one method the writer uses, so the tests can hold a write open.
import { describe, expect, it } from "vitest";
import { inLanes } from "../../src/mail/lanes.ts";
import type { Accepted } from "../../src/mail/ledger.ts";
import { LedgerWriter } from "../../src/mail/ledger-writer.ts";

const tick = () => new Promise((r) => setImmediate(r));

describe("inLanes", () => {
  it("keeps at most `lanes` items in flight and does every item once", async () => {
    let open = 0;
    let most = 0;
    const done: number[] = [];
    const items = Array.from({ length: 25 }, (_, i) => i);
    const failure = await inLanes(
      items,
      4,
      async (i) => {
        open += 1;
        most = Math.max(most, open);
        await tick();
        open -= 1;
        done.push(i);
      },
      () => false,
    );
    expect(failure).toBeUndefined();
    expect(most).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual(items);
  });

  it("a throw stops every lane before its next item; the items in hand finish", async () => {
    const started: number[] = [];
    const failure = await inLanes(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (i) => {
        started.push(i);
        if (i === 1) throw new Error("lane broke"); // while 0 and 2 are still in flight
        await tick();
      },
      () => false,
    );
    expect(failure).toEqual({ error: new Error("lane broke") });
    expect(started).toEqual([0, 1, 2]);
  });

  it("stops taking items once halted() is true", async () => {
    const started: number[] = [];
    await inLanes(
      Array.from({ length: 20 }, (_, i) => i),
      2,
      async (i) => {
        started.push(i);
        await tick();
      },
      () => started.length >= 5,
    );
    expect(started).toHaveLength(5);
  });
});

/** A ledger whose writes stay open until the test lets them go. */
function heldLedger() {
  const writes: { ids: string[]; release: () => void; fail: (e: Error) => void }[] = [];
  return {
    writes,
    record(_edition: string, accepted: Accepted[]): Promise<void> {
      return new Promise((resolve, reject) =>
        writes.push({ ids: accepted.map((a) => a.subscriberId), release: resolve, fail: reject }),
      );
    },
  };
}

describe("LedgerWriter", () => {
  it("writes a group once it waits, one write at a time; flush() waits for everything added", async () => {
    const ledger = heldLedger();
    const recorded: string[] = [];
    const writer = new LedgerWriter(ledger, "ed", undefined, { recorded: (ids) => recorded.push(...ids) }, 2);
    writer.add({ subscriberId: "a" });
    expect(ledger.writes).toHaveLength(0);
    writer.add({ subscriberId: "b" }); // a group: the first write starts
    writer.add({ subscriberId: "c" });
    writer.add({ subscriberId: "d" }); // a write is open: these wait for it
    expect(ledger.writes.map((w) => w.ids)).toEqual([["a", "b"]]);
    let flushed = false;
    const flush = writer.flush().then(() => (flushed = true));
    ledger.writes[0]!.release();
    await tick();
    expect(ledger.writes.map((w) => w.ids)).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
    expect(flushed).toBe(false);
    writer.add({ subscriberId: "e" }); // accepted while the second write is open
    ledger.writes[1]!.release();
    await tick();
    expect(flushed).toBe(false); // e is not written yet
    ledger.writes[2]!.release();
    await flush;
    expect(ledger.writes.map((w) => w.ids)).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    expect(recorded).toEqual(["a", "b", "c", "d", "e"]);
    expect(writer.failure()).toBeUndefined();
  });

  it("a send accepted as a write ends is still written by the next flush()", async () => {
    const ledger = heldLedger();
    const writer = new LedgerWriter(ledger, "ed", undefined, { recorded: () => {} }, 1);
    writer.add({ subscriberId: "a" });
    const first = writer.flush();
    ledger.writes[0]!.release();
    // Between the write's end and whatever awaited it: a late acceptance, then the final flush.
    await Promise.resolve();
    writer.add({ subscriberId: "b" });
    const last = writer.flush();
    await tick();
    ledger.writes[1]?.release();
    await Promise.all([first, last]);
    expect(ledger.writes.map((w) => w.ids)).toEqual([["a"], ["b"]]);
  });

  it("after a failed write nothing more is written, and failure() says why", async () => {
    const ledger = heldLedger();
    const recorded: string[] = [];
    const writer = new LedgerWriter(ledger, "ed", undefined, { recorded: (ids) => recorded.push(...ids) }, 1);
    writer.add({ subscriberId: "a" });
    writer.add({ subscriberId: "b" });
    ledger.writes[0]!.fail(new Error("redis away"));
    await writer.flush();
    expect(writer.failure()).toEqual({ error: new Error("redis away") });
    writer.add({ subscriberId: "c" });
    await writer.flush();
    expect(ledger.writes).toHaveLength(1);
    expect(recorded).toEqual([]);
  });
});
