// `herald mail feedback [FILE]`: one bounce report (RFC 3464 DSN) or complaint (RFC 5965 ARF)
// as it arrived by mail, from FILE or standard input, so a mail server can pipe its bounce
// mailbox into it. The readers it names are suppressed (mail/feedback.ts); one line per
// recipient says what changed. A message that is no report changes nothing and exits 0 (an
// auto-reply to the bounce address is not an error); input that is not a message exits 1.
import type { Command } from "commander";
import { action, readInput, withRuntime } from "./context.ts";

export function registerMail(program: Command): void {
  const mail = program
    .command("mail")
    .description("email delivery: bounce reports and complaints that come back by mail");
  mail
    .command("feedback [file]")
    .description(
      "read a bounce report (DSN) or complaint (ARF) from FILE or standard input, and suppress the readers it names",
    )
    .option("--json", "print the outcome as JSON")
    .action(
      action(async (file: string | undefined, opts: { json?: boolean }) => {
        // Loaded here, not at the top: other commands start faster without it.
        const { describeOutcome, MAX_FEEDBACK_BYTES, processFeedback } = await import("../mail/feedback.ts");
        const raw = await readInput(file, MAX_FEEDBACK_BYTES);
        await withRuntime(async (rt) => {
          const result = await processFeedback(rt, raw);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
            return;
          }
          if (result.report === "none") {
            process.stdout.write(
              "ignored: not a bounce report or complaint (no message/delivery-status or message/feedback-report part); nothing changed\n",
            );
            return;
          }
          if (result.outcomes.length === 0) {
            process.stdout.write(
              `ignored: the ${result.report} report names no recipient and carries no Message-ID of ours; nothing changed\n`,
            );
            return;
          }
          for (const o of result.outcomes) process.stdout.write(`${describeOutcome(o)}\n`);
        });
      }),
    );
}
