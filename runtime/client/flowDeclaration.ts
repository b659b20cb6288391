import type { FlowOptions } from '../../schemas/flow.js'

/**
 * The flow options a dispatch function declares with JSDoc tags (`@priority 5`), as `dispatch gen`
 * writes them into the route table and the client (docs/flow-control.md). The client sends them
 * with each call (docs/protocol.md §5); the scheduler enforces them, its config able to override them.
 */
export interface FlowDeclaration {
  /** `@priority N`: the head start of this function's calls in their queue, 0 (default) to 100. */
  readonly priority?: number
}

/** What a generated client knows of one function: its arity and, when it declares any, its flow options. */
export interface FunctionDescriptor {
  readonly arity: number
  readonly flow?: FlowDeclaration
}

/** The declaration as one call carries it (docs/protocol.md §5); undefined when it declares nothing. */
export function toFlowOptions(flow: FlowDeclaration | undefined): FlowOptions | undefined {
  if (flow === undefined) return undefined
  const wire: FlowOptions = {}
  if (flow.priority !== undefined) wire.priority = flow.priority
  return Object.keys(wire).length === 0 ? undefined : wire
}
