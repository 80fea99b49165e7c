// Vitest setup file (vitest.config.ts setupFiles): runs before each test file. Its afterAll is
// registered first, so it runs last, after the file's own afterAll/afterEach have closed what
// they opened; whatever is still open then is a leak and fails the file, naming each one.
import { afterAll } from "vitest";
import { installLeakTracking, leftOpen } from "./leaks.ts";

installLeakTracking();

afterAll(async () => {
  const open = await leftOpen();
  if (open.length)
    throw new Error(`this test file left ${open.length} open after its last test:\n  ${open.join("\n  ")}`);
});
