#!/usr/bin/env node
// The kubectl plugin's executable: `kubectl modelchain …` runs it from PATH (package.json bin).
import { pluginMain } from "./plugin/main.ts";

process.exitCode = await pluginMain(process.argv.slice(2));
