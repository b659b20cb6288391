import { addImport, flowLiteral, HEADER, importLines, importSpecifier, Namer, quote } from './emitShared.js'
import type { FunctionModel } from './model/model.js'
import { argsType, SchemaTypes } from './schemaTypes.js'

const RESERVED = [
  'Check',
  'HandlersMatchSchemas',
  'Matches',
  'RegenerateWithDispatchGen',
  'SinclairStatic',
  'Static',
  'defineRoutes',
  'routes',
  'tupleSchema',
]

/**
 * `routes.gen.ts`: the route table the endpoint serves — each function's input tuple schema,
 * output schema, handler and source — and a type-level check that every handler still has the
 * signature its schemas describe, so editing a function without regenerating fails to compile.
 */
export function emitRoutes(functions: readonly FunctionModel[], out: string): string {
  const namer = new Namer(RESERVED)
  // Handlers are named first so they keep their own names; schemas yield on a clash.
  const handlerImports = new Map<string, Map<string, string>>()
  const handlers = new Map<FunctionModel, string>()
  for (const fn of functions) {
    const local = namer.name(`handler:${fn.file}#${fn.name}`, fn.name)
    handlers.set(fn, local)
    addImport(handlerImports, importSpecifier(out, fn.file), fn.name, local)
  }
  const values = new SchemaTypes(out, namer, handlerImports)

  const entries = functions.map((fn) => {
    const input = fn.parameters.map((p) => values.local(p.schema)).join(', ')
    const required = fn.parameters.filter((p) => !p.optional).length
    return [
      `  ${fn.name}: {`,
      `    input: tupleSchema([${input}], ${required}),`,
      `    output: ${fn.output ? values.local(fn.output) : 'undefined'},`,
      `    handler: ${handlers.get(fn)},`,
      `    source: ${quote(`${fn.file}:${fn.line}`)},`,
      ...(fn.description ? [`    description: ${quote(fn.description)},`] : []),
      ...(fn.version ? [`    version: ${quote(fn.version)},`] : []),
      ...(fn.flow ? [`    flow: ${flowLiteral(fn.flow)},`] : []),
      '  },',
    ].join('\n')
  })
  const checks = functions.flatMap((fn) => {
    const handler = handlers.get(fn)
    return [
      `  Check<Matches<${quote(`${fn.name} (parameters)`)}, Parameters<typeof ${handler}>, ${argsType(fn, values, true)}>>,`,
      `  Check<Matches<${quote(`${fn.name} (output)`)}, Awaited<ReturnType<typeof ${handler}>>, ${fn.output ? values.type(fn.output) : 'void'}>>,`,
    ]
  })

  const lines = [
    HEADER,
    `import { defineRoutes, tupleSchema } from 'dispatch-functions'`,
    ...values.staticImports(),
    ...importLines(handlerImports, false),
    '',
    '/** The route table of this package, for the endpoint: `app.register(dispatchPlugin, { routes })`. */',
    `export const routes = defineRoutes({${entries.length ? `\n${entries.join('\n')}\n` : ''}})`,
    '',
  ]
  if (checks.length > 0) {
    lines.push(
      '// A line below fails to compile when a handler no longer matches its schemas: the error names',
      '// `RegenerateWithDispatchGen<"function (parameters)">`. Run `npx dispatch gen` to regenerate.',
      "type RegenerateWithDispatchGen<Function extends string> = { readonly 'routes.gen.ts is stale: run npx dispatch gen': Function }",
      'type Matches<Function extends string, A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : RegenerateWithDispatchGen<Function>',
      'type Check<T extends true> = T',
      `export type HandlersMatchSchemas = [\n${checks.join('\n')}\n]`,
      '',
    )
  }
  return lines.join('\n')
}
