import { addImport, HEADER, importLines, importSpecifier, jsDoc, Namer, STATIC_NAMES } from './emitShared.js'
import type { FunctionModel, SchemaRef, TypeBoxPackage } from './model.js'

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

/** Schema types of a generated file: `import type` of the consts, `Static` from their own package. */
export class SchemaTypes {
  readonly #namer: Namer
  readonly #out: string
  readonly imports: Map<string, Map<string, string>>
  readonly packages = new Set<TypeBoxPackage>()

  /** `imports` may be shared with other imports of the file, so one module gets one import line. */
  constructor(out: string, namer: Namer, imports = new Map<string, Map<string, string>>()) {
    this.#out = out
    this.#namer = namer
    this.imports = imports
  }

  /** Registers the schema's import and returns its local name. */
  local(schema: SchemaRef): string {
    const local = this.#namer.name(`schema:${schema.file}#${schema.name}`, schema.name)
    addImport(this.imports, importSpecifier(this.#out, schema.file), schema.name, local)
    return local
  }

  /** `Static<typeof X>`, with the `Static` of the package the schema was built with. */
  type(schema: SchemaRef): string {
    this.packages.add(schema.typebox)
    return `${STATIC_NAMES[schema.typebox]}<typeof ${this.local(schema)}>`
  }

  /** The `import type { Static } from ...` lines for the packages used. */
  staticImports(): string[] {
    return [...this.packages].sort().map((pkg) => {
      const local = STATIC_NAMES[pkg]
      return `import type { ${local === 'Static' ? 'Static' : `Static as ${local}`} } from '${pkg}'`
    })
  }
}

/** The positional arguments as a labelled tuple type: `[url: Static<typeof Url>, payload?: ...]`. */
export function argsType(fn: FunctionModel, types: SchemaTypes, optionalUndefined: boolean): string {
  const items = fn.parameters.map((p) => {
    const type = types.type(p.schema)
    return p.optional ? `${p.name}?: ${type}${optionalUndefined ? ' | undefined' : ''}` : `${p.name}: ${type}`
  })
  return `[${items.join(', ')}]`
}

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
  const arities = functions.map((fn) => `${fn.name}: ${fn.parameters.length}`).join(', ')

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
