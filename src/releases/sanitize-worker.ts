// The worker thread of sanitize-pool.ts: renders release bodies off the main event loop.
import { parentPort } from "node:worker_threads";
import { HeraldError } from "../errors.ts";
import { renderBody } from "./sanitize.ts";

export interface RenderRequest {
  id: number;
  body: string;
}
export type RenderReply =
  | { id: number; ok: true; html: string; text: string }
  | { id: number; ok: false; message: string; invalid: boolean; issues: { path: string; message: string }[] }
  | { ready: true };

parentPort!.on("message", ({ id, body }: RenderRequest) => {
  let reply: RenderReply;
  try {
    reply = { id, ok: true, ...renderBody(body) };
  } catch (err) {
    const invalid = err instanceof HeraldError;
    reply = { id, ok: false, message: (err as Error).message, invalid, issues: invalid ? err.issues : [] };
  }
  parentPort!.postMessage(reply);
});
parentPort!.postMessage({ ready: true } satisfies RenderReply);
