import type { Command } from 'commander'

/** Registers `dispatch run`. Not implemented yet. */
export function registerRun(_program: Command): void {}
