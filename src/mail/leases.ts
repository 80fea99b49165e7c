// Send leases: one run of an email batch may hand a reader's message to SMTP only while it holds
// that reader's lease for the edition. Why: BullMQ gives a job to a second worker when the first
// one's lock runs out, and a worker whose event loop is starved (a busy machine, a long GC, a
// frozen VM) loses its lock while it is still sending. Without leases both runs send the
// readers neither has recorded yet. With them, the second run skips (defers) every reader the
// first still holds, and the first checks its lease before each send.
//
// Timing. A lease lasts SEND_LEASE_MS (default 2 × (WORKER_LOCK_MS + WORKER_STALLED_INTERVAL_MS),
// see config) and is renewed every third of that while the run holds it, up to the ledger write.
// Before each send the run checks how much of the lease is left by its own monotonic clock,
// measured from before the Redis call that granted it (so it never overestimates); with less
// than half left it asks Redis again. So a pause of the run (starved loop, SIGSTOP) that starts
// outside a send is always noticed, and one that starts between the check and the ledger write
// causes a second send only if it outlasts half a lease: far longer than the pause that makes
// BullMQ hand the job over. A crashed run's leases simply expire; the retry then sends.
import { randomUUID } from "node:crypto";
import type { LeaseState, Ledger } from "./ledger.ts";

export class SendLeases {
  /** This run's name in Redis: a retry or a second holder of the same job is another run. */
  private readonly token = randomUUID();
  /** Readers this run holds -> when the lease runs out by this process's clock (performance.now()). */
  private readonly until = new Map<string, number>();
  /** Accepted by SMTP, not yet in the ledger: still renewed, never given back. */
  private readonly accepted = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly ledger: Ledger,
    private readonly edition: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Leases these readers. Returns the state of each and, when some are busy, how long until the
   * first of those leases runs out (ms). Real elapsed time, not rt.clock: it is about pauses.
   */
  async take(ids: string[]): Promise<{ states: LeaseState[]; busyMs: number }> {
    const asked = performance.now();
    const r = await this.ledger.lease(this.edition, this.token, this.ttlMs, ids);
    r.states.forEach((st, i) => {
      if (st === "mine") this.until.set(ids[i]!, asked + this.ttlMs);
      else this.until.delete(ids[i]!);
    });
    if (!this.timer && this.until.size > 0) {
      this.timer = setInterval(
        () => {
          this.renewing ??= this.renew().finally(() => {
            this.renewing = undefined;
          });
        },
        Math.max(50, Math.floor(this.ttlMs / 3)),
      );
      this.timer.unref();
    }
    return r;
  }

  private async renew(): Promise<void> {
    const ids = [...this.until.keys()];
    if (ids.length === 0) return;
    try {
      await this.take(ids);
    } catch {
      // Redis trouble: keep going on what is left; keep() asks again before each send.
    }
  }

  /**
   * Just before handing this reader's message to SMTP: may this run send it? "mine" only while
   * at least half the lease is left (asking Redis again otherwise), "busy" when another run has
   * it now, "done" when it is in the ledger.
   */
  async keep(id: string): Promise<LeaseState> {
    const until = this.until.get(id);
    if (until !== undefined && until - performance.now() >= this.ttlMs / 2) return "mine";
    const { states } = await this.take([id]);
    return states[0]!;
  }

  /** SMTP accepted it: keep the lease (renewed) until the ledger has it. */
  sent(id: string): void {
    this.accepted.add(id);
  }

  /** In the ledger now (the ledger write removed the lease in Redis). */
  recorded(ids: string[]): void {
    for (const id of ids) {
      this.until.delete(id);
      this.accepted.delete(id);
    }
  }

  /**
   * End of the run: stop renewing and give back the leases of readers never handed to SMTP (or
   * refused), so a retry need not wait for them. Accepted readers the ledger did not get keep
   * their lease until it expires.
   */
  async end(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    const unsent = [...this.until.keys()].filter((id) => !this.accepted.has(id));
    this.until.clear();
    await this.ledger.releaseLeases(this.edition, this.token, unsent);
  }
}
