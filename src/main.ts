// The `herald` command line. Only commander and the command table load up front; the module of
// the command being run is imported on demand (see src/cli/commands.ts).
import { buildProgram, quietOnBrokenPipe } from "./cli/commands.ts";
import { EnvFileError, loadEnvFile } from "./config/env-file.ts";

quietOnBrokenPipe(process.stdout);
quietOnBrokenPipe(process.stderr);
try {
  loadEnvFile();
} catch (err) {
  if (!(err instanceof EnvFileError)) throw err;
  process.stderr.write(`herald: ${err.message}\n`);
  process.exit(1);
}
const program = await buildProgram(process.argv.slice(2));
await program.parseAsync(process.argv);
