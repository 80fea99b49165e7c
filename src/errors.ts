// Errors with a stable code, an HTTP status and a message that says how to fix the problem.
import type { z } from "zod";

export interface Issue {
  path: string;
  message: string;
}

/** Every problem zod found, as `path: message` pairs a person can act on. */
export function describeIssues(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    path: i.path.length ? i.path.join(".") : "(root)",
    message: i.message,
  }));
}

export function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join("; ");
}

export class HeraldError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly issues: Issue[] = [],
  ) {
    super(message);
    this.name = "HeraldError";
  }
}

export const invalid = (message: string, issues: Issue[] = []) =>
  new HeraldError("HERALD_INVALID", message, 400, issues);
export const notFound = (message: string) => new HeraldError("HERALD_NOT_FOUND", message, 404);
export const conflict = (message: string) => new HeraldError("HERALD_CONFLICT", message, 409);

/** Parses `raw` with `schema`, or throws 400 naming every problem: "invalid {what}: path: message; …". */
export function parseOrThrow<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error);
    throw invalid(`invalid ${what}: ${formatIssues(issues)}`, issues);
  }
  return parsed.data;
}
