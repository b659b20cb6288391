import { flowLiteral, HEADER, importLines, jsDoc, Namer } from './emitShared.js'
import type { FunctionModel } from './model/model.js'
import { argsType, SchemaTypes } from './schemaTypes.js'

const RESERVED = [
  'ClientOptions',
  'DispatchClient',
  'DispatchFunctions',
  'SinclairStatic',
  'Static',
  'createClient',
  'createDispatchClient',
  'dispatchBatch',
  'dispatchClient',
]

/**
 * `client.gen.ts`: the function signatures as types and a client built from names and arities.
 * It imports the schemas as types only, so loading it never loads the functions' implementation.
 */
export function emitClient(functions: readonly FunctionModel[], out: string): string {
  const types = new SchemaTypes(out, new Namer(RESERVED))
  const members = functions.map((fn) => {
    const output = fn.output ? types.type(fn.output) : 'void'
    const doc = fn.description ? jsDoc(fn.description, '  ') : ''
    return `${doc}  ${fn.name}: { args: ${argsType(fn, types, false)}; output: ${output} }\n`
  })
  // A function that declares flow options carries them (`{ arity, flow }`): the client sends them with each call.
  const arities = functions
    .map((fn) =>
      fn.flow === undefined
        ? `${fn.name}: ${fn.parameters.length}`
        : `${fn.name}: { arity: ${fn.parameters.length}, flow: ${flowLiteral(fn.flow)} }`,
    )
    .join(', ')

  const lines = [
    HEADER,
    ...types.staticImports(),
    `import { type ClientOptions, createClient, type DispatchClient } from 'dispatch-functions'`,
    ...importLines(types.imports, true),
    '',
    `export { dispatchBatch } from 'dispatch-functions'`,
    '',
    '/** The dispatch functions of this package: the positional arguments and the output of each. */',
    functions.length === 0
      ? 'export type DispatchFunctions = Record<never, never>'
      : `export type DispatchFunctions = {\n${members.join('')}}`,
    '',
    '/**',
    ' * A client whose calls target `options.endpoint` (default: `DISPATCH_ENDPOINT_URL`, this',
    ' * application). Another service binds it to the endpoint that serves these functions.',
    ' */',
    'export function createDispatchClient(options?: ClientOptions): DispatchClient<DispatchFunctions> {',
    `  return createClient<DispatchFunctions>({${arities ? ` ${arities} ` : ''}}, options)`,
    '}',
    '',
    "/** The client of this application's own functions. */",
    'export const dispatchClient: DispatchClient<DispatchFunctions> = createDispatchClient()',
    '',
  ]
  return lines.join('\n')
}
