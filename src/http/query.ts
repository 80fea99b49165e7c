// A query parameter given twice (`?token=a&token=b`) arrives as an array, which no route
// expects: refuse it with a 400 that names it, before any handler reads the query, instead of
// letting one of the values win silently or a string method fail on the array (a 500).
import type { FastifyInstance } from "fastify";
import { invalid } from "../errors.ts";

export function singleValuedQuery(app: FastifyInstance): void {
  app.addHook("onRequest", async (req) => {
    const query = (req.query ?? {}) as Record<string, unknown>;
    for (const [name, value] of Object.entries(query)) {
      if (typeof value === "string") continue;
      const shown = JSON.stringify(name.slice(0, 40));
      const times = Array.isArray(value) ? value.length : 2;
      throw invalid(`the query parameter ${shown} is given ${times} times: give it once`, [
        { path: `query.${name.slice(0, 40)}`, message: "given more than once" },
      ]);
    }
  });
}
