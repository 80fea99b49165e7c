#!/usr/bin/env node
// The `herald` command: runs src/main.ts through tsx's loader, so there is no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
