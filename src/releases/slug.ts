// Release ids from titles. Apart from service.ts so code that only needs an id (partners,
// `herald status`) does not load the sanitiser (sanitize-html, postcss) with it.
import { createHash } from "node:crypto";
import { SLUG_RE } from "./model.ts";

/** A URL-safe id from a title: "Conference Focuses on…" -> "conference-focuses-on-…". */
export function slugify(title: string, max = 80): string {
  const s = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, max)
    .replace(/-+$/, "");
  return SLUG_RE.test(s) ? s : `release-${createHash("sha256").update(title).digest("hex").slice(0, 10)}`;
}
