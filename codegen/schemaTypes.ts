import { addImport, importSpecifier, type Namer, STATIC_NAMES } from './emitShared.js'
import type { FunctionModel, SchemaRef, TypeBoxPackage } from './model/model.js'

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
