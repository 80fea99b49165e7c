import { readFeedback } from "./src/mail/feedback.ts";
import { dsn, sentMessage } from "./test/helpers/reports.ts";
const n = Number(process.argv[2]);
const s = dsn([{ final: "a".repeat(n) + " b", action: "failed", status: "5.1.1" }], sentMessage("x@y", "<m@z>"));
const t0 = performance.now(); readFeedback(Buffer.from(s, "latin1"), "iom.example"); console.log(n, Math.round(performance.now() - t0), "ms");
