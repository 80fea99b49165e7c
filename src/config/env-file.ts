// `.env` for `npm start` and the CLI, as docker compose reads it: KEY=value lines in the current
// directory's .env (or the file HERALD_ENV_FILE names; HERALD_ENV_FILE=off reads none). Runs once,
// before src/config parses the environment. A variable already set in the real environment
// always wins over the file, so `PORT=4000 npx herald start` beats a PORT in .env.
// Kept apart from index.ts so `herald --help` loads no zod.
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";

export class EnvFileError extends Error {}

/** Loads the env file into `env` (unset keys only); returns its path, or undefined when none was read. */
export function loadEnvFile(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): string | undefined {
  const setting = env.HERALD_ENV_FILE?.trim();
  if (setting === "off") return undefined;
  const file = path.resolve(cwd, setting || ".env");
  if (!existsSync(file)) {
    if (setting)
      throw new EnvFileError(`HERALD_ENV_FILE=${JSON.stringify(setting)}: no such file (use off to read none)`);
    return undefined;
  }
  if (!statSync(file).isFile()) throw new EnvFileError(`${file} is not a file (HERALD_ENV_FILE=off reads no env file)`);
  const values = parseEnv(readFileSync(file, "utf8"));
  for (const [key, value] of Object.entries(values)) {
    if (env[key] === undefined) env[key] = value;
  }
  return file;
}
