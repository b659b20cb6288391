import type { Command } from 'commander'

/** Registers `dispatch scheduler`. Not implemented yet. */
export function registerScheduler(_program: Command): void {}
