import type { Command } from "commander";

/** append, show, root, proof, consistency, checkpoint, verify, verify-proof (being written). */
export function registerLedgerCommands(_program: Command): void {}
