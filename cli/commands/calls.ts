import type { Command } from 'commander'

/** Registers `dispatch calls`. Not implemented yet. */
export function registerCalls(_program: Command): void {}
