import type { FlowDeclaration } from './client/flowDeclaration.js'

/** A JSON Schema object as TypeBox (either `typebox` 1.x or `@sinclair/typebox` 0.34) builds it. */
export type JsonSchema = Readonly<Record<string, unknown>>

/** Where a dispatch function is declared, relative to the package root: `src/notify.ts:12`. */
export type SourceLocation = string

/**
 * One entry of the route table that `dispatch gen` writes to `routes.gen.ts`: everything the
 * endpoint needs to validate and run a function.
 */
export interface Route {
  /** The registered function name (the pattern of docs/protocol.md §3.1). */
  readonly name: string
  /** A JSON Schema tuple of the positional parameters (see {@link tupleSchema}). */
  readonly input: JsonSchema
  /** The output schema, or undefined when the function returns nothing. */
  readonly output: JsonSchema | undefined
  readonly handler: (...args: any[]) => unknown
  readonly source: SourceLocation
  readonly description?: string
  /**
   * The code version of a durable coroutine, declared by its author. When set, a resumed turn is
   * refused (and the call restarts from its input) only when it changes: an edit of the function
   * that keeps it (a fix, a `patched()` branch) lets in-flight runs replay under the new code.
   * Unset, any edit of the function's source restarts them (docs/coroutines.md).
   */
  readonly version?: string | number
  /** The flow options the function declares with JSDoc tags (`@priority 5`; docs/flow-control.md). */
  readonly flow?: FlowDeclaration
}

/**
 * What a route definition accepts as a schema: TypeBox 1.x declares its schemas as interfaces
 * without an index signature, which TypeScript does not assign to {@link JsonSchema}.
 */
export type SchemaObject = object

/** One entry as `routes.gen.ts` writes it: a {@link Route} without its name, any TypeBox schema as output. */
export type RouteDefinition = Omit<Route, 'name' | 'output'> & { readonly output: SchemaObject | undefined }

/** The route table: function name → route. */
export type Routes = Readonly<Record<string, Route>>

/**
 * The JSON Schema (draft-07 tuple form, which both TypeBox majors emit and Ajv's default
 * dialect reads) of positional parameters: the first `required` are required, the rest optional.
 */
export function tupleSchema(items: readonly SchemaObject[], required: number = items.length): JsonSchema {
  // Draft-07 wants a non-empty `items` array; no parameters is an empty array.
  if (items.length === 0) return { type: 'array', maxItems: 0 }
  return { type: 'array', items: [...items], additionalItems: false, minItems: required, maxItems: items.length }
}

/** Builds the route table from its entries, filling in each route's name from its key. */
export function defineRoutes<const T extends Record<string, RouteDefinition>>(
  routes: T,
): { readonly [K in keyof T]: Route & T[K] } {
  const table: Record<string, Route> = {}
  for (const [name, route] of Object.entries(routes)) table[name] = Object.freeze({ name, ...route } as Route)
  return Object.freeze(table) as { readonly [K in keyof T]: Route & T[K] }
}
