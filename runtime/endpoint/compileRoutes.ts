import type { ErrorObject, ValidateFunction } from 'ajv'
import { dspError } from '../../schemas/errors/dspError.js'
import type { JsonSchema, Route, Routes } from '../route.js'
import { createAjv, createAjv2020 } from './createAjv.js'

/** A route with its validators, compiled once at registration. */
export interface CompiledRoute {
  readonly route: Route
  readonly validateInput: ValidateFunction
  readonly validateOutput: ValidateFunction | undefined
}

/**
 * A zero-parameter tuple (`items: []`, which `tupleSchema([])` builds) is not valid draft-07
 * (`items` arrays need one entry); `maxItems: 0` says the same thing.
 */
function normalize(schema: JsonSchema): JsonSchema {
  if (Array.isArray(schema['items']) && schema['items'].length === 0) {
    const { items: _items, additionalItems: _additional, ...rest } = schema
    return { ...rest, maxItems: 0 }
  }
  return schema
}

function compile(
  route: string,
  what: string,
  given: JsonSchema,
  shared: ReturnType<typeof createAjv>,
): ValidateFunction {
  const schema = normalize(given)
  // A 2020-12 tuple (`prefixItems`) would be silently ignored by a draft-07 Ajv, accepting anything.
  const ajv = JSON.stringify(schema).includes('"prefixItems"') ? createAjv2020() : shared
  try {
    return ajv.compile(schema as object)
  } catch (first) {
    // Two routes sharing a schema with the same `$id` collide in one Ajv: give this one its own.
    try {
      return createAjv().compile(schema as object)
    } catch {
      throw dspError(
        'DSP2204',
        `the ${what} schema of function ${route} does not compile: ${(first as Error).message}`,
        {
          hint: 'regenerate the route table (npm run dispatch:gen); a hand-written schema must be JSON Schema draft-07',
        },
      )
    }
  }
}

/** Compiles every route's input and output schema once, so no request pays for schema compilation. */
export function compileRoutes(routes: Routes): ReadonlyMap<string, CompiledRoute> {
  const ajv = createAjv()
  const compiled = new Map<string, CompiledRoute>()
  for (const [name, route] of Object.entries(routes)) {
    if (typeof route.handler !== 'function') {
      throw dspError('DSP2203', `route ${name} has no handler function`, {
        hint: 'build route tables with defineRoutes() or regenerate them (npm run dispatch:gen)',
      })
    }
    compiled.set(name, {
      route,
      validateInput: compile(name, 'input', route.input, ajv),
      validateOutput: route.output === undefined ? undefined : compile(name, 'output', route.output, ajv),
    })
  }
  return compiled
}

/** `$[0].url` from Ajv's JSON Pointer `/0/url`: where in the arguments (or the result) a problem is. */
function jsonPath(root: string, pointer: string): string {
  if (pointer === '') return root
  let path = root
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    path += /^[0-9]+$/.test(segment)
      ? `[${segment}]`
      : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)
        ? `.${segment}`
        : `[${JSON.stringify(segment)}]`
  }
  return path
}

/** One line per problem: `$[0].url: must match format "uri"`. */
export function describeErrors(root: string, errors: readonly ErrorObject[] | null | undefined): string[] {
  const lines: string[] = []
  for (const error of errors ?? []) {
    const line = `${jsonPath(root, error.instancePath)}: ${error.message ?? error.keyword}`
    if (!lines.includes(line)) lines.push(line)
  }
  return lines
}
