import type { Command } from 'commander'

/** Registers `dispatch gen`. Not implemented yet. */
export function registerGen(_program: Command): void {}
