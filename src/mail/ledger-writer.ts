// Sends the SMTP server accepted, on their way to the ledger, written in groups: one round trip
// for many readers instead of one each, and the sends go on while a group is written. One write
// at a time takes everything waiting; a send run ends with flush(), which resolves once every
// accepted send is in the ledger (or a write failed). Until its write, a reader's lease stays
// with the run (SendLeases.sent), so no other run sends it meanwhile; after it, the ledger is
// what says "sent" (SendLeases.recorded).
import type { Accepted, Ledger } from "./ledger.ts";
import type { SendLeases } from "./leases.ts";

/**
 * Accepted sends waiting before a write starts (a write takes whatever is waiting). A crash
 * before the write resends at most these: the ledger cannot have them.
 */
const LEDGER_GROUP = 16;

export class LedgerWriter {
  private waiting: Accepted[] = [];
  private writing: Promise<void> | null = null;
  private failed: { error: unknown } | undefined;

  /** `keepSeconds`: the ledger's lifetime (undefined: the edition's default, see Ledger.record). */
  constructor(
    private readonly ledger: Pick<Ledger, "record">,
    private readonly edition: string,
    private readonly keepSeconds: number | undefined,
    private readonly leases: Pick<SendLeases, "recorded">,
    private readonly groupSize = LEDGER_GROUP,
  ) {}

  /** The server accepted this send: it goes into the next write (started once a group waits). */
  add(a: Accepted): void {
    this.waiting.push(a);
    if (this.waiting.length >= this.groupSize) void this.flush();
  }

  /** Resolves once everything added so far is written, or a write failed (see failure()). */
  async flush(): Promise<void> {
    while (this.waiting.length > 0 && !this.failed) {
      this.writing ??= this.drain();
      await this.writing;
    }
  }

  /**
   * The first write that failed. Nothing is written after it: the run must stop sending and
   * fail, and its retry skips what was recorded (the unrecorded keep their leases until expiry).
   */
  failure(): { error: unknown } | undefined {
    return this.failed;
  }

  /** The one write in progress: takes whatever waits, group after group, until nothing does. */
  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0 && !this.failed) {
        const group = this.waiting;
        this.waiting = [];
        try {
          await this.ledger.record(this.edition, group, this.keepSeconds);
          this.leases.recorded(group.map((a) => a.subscriberId));
        } catch (error) {
          this.failed = { error };
        }
      }
    } finally {
      // In the same step as the loop's last check: a send accepted after it starts a new write.
      this.writing = null;
    }
  }
}
