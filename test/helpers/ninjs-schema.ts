// The official IPTC ninjs 3.1 schema, compiled (Ajv, draft 2020-12, with formats): from the
// repo's fixtures, else from shared/schemas in a folder above the repo (a worktree's or main's).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

function schemaPath(): string {
  const fixture = fileURLToPath(new URL("../fixtures/schemas/ninjs-schema_3.1.json", import.meta.url));
  if (existsSync(fixture)) return fixture;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const p = path.join(dir, "shared/schemas/ninjs-schema_3.1.json");
    if (existsSync(p)) return p;
  }
  throw new Error("ninjs-schema_3.1.json not found in test/fixtures/schemas or any shared/schemas above the repo");
}

// ajv-formats is CommonJS; its default export is the function under NodeNext interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
// places[].geoJSON refers to the external GeoJSON schema; Herald never sends geoJSON.
ajv.addSchema({ $id: "https://geojson.org/schema/GeoJSON.json", type: "object" });

export const validNinjs = ajv.compile(JSON.parse(readFileSync(schemaPath(), "utf8")));
/** ajv-formats' `uri`: what the schema's `format: uri` fields accept. */
export const validUri = ajv.compile({ type: "string", format: "uri" });
