import type { ts as TS } from 'ts-morph'
import type { TypeBoxPackage } from '../model/model.js'
import { ts } from './tsMorph.js'

/** A name imported from another module. */
export interface ImportedName {
  readonly specifier: string
  /** The name in the other module, `default` or `*`. */
  readonly name: string
}

/**
 * What the scanner needs to know about one file's top level, read once per parse: the TypeBox
 * bindings, the declarations a schema can be, imports and exports. Syntax only.
 */
export interface FileIndex {
  readonly path: string
  readonly sourceFile: TS.SourceFile
  /** Local names whose `.X(...)` builds a schema (`Type`, a namespace or default import), with their package. */
  readonly builders: ReadonlyMap<string, TypeBoxPackage>
  /** Local names of TypeBox's `Static`. */
  readonly statics: ReadonlySet<string>
  /** Top-level variable declarations by name, with whether they are `const`. */
  readonly consts: ReadonlyMap<string, { readonly declaration: TS.VariableDeclaration; readonly kind: string }>
  readonly aliases: ReadonlyMap<string, TS.TypeAliasDeclaration>
  readonly imports: ReadonlyMap<string, ImportedName>
  /** Exported name → local name, for `export const`, `export type` and `export { a as b }`. */
  readonly localExports: ReadonlyMap<string, string>
  /** Exported name → local name of values only (`export const`, `export { a as b }`): what `import { X }` can load. */
  readonly valueExports: ReadonlyMap<string, string>
  /** Exported name → where it comes from, for `export { a as b } from './x.js'`. */
  readonly reExports: ReadonlyMap<string, ImportedName>
  /** Specifiers of `export * from './x.js'`. */
  readonly starExports: readonly string[]
}

/** The package a module specifier belongs to, when it is one of the two TypeBox packages. */
export function typeBoxPackageOf(specifier: string): TypeBoxPackage | undefined {
  if (specifier === 'typebox' || specifier.startsWith('typebox/')) return 'typebox'
  if (specifier === '@sinclair/typebox' || specifier.startsWith('@sinclair/typebox/')) return '@sinclair/typebox'
  return undefined
}

export function hasModifier(node: TS.Node, kind: TS.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) ? (ts.getModifiers(node)?.some((m) => m.kind === kind) ?? false) : false
}

const specifierText = (node: TS.Expression | undefined) =>
  node !== undefined && ts.isStringLiteral(node) ? node.text : undefined

export function indexFile(path: string, sourceFile: TS.SourceFile): FileIndex {
  const builders = new Map<string, TypeBoxPackage>()
  const statics = new Set<string>()
  const consts = new Map<string, { declaration: TS.VariableDeclaration; kind: string }>()
  const aliases = new Map<string, TS.TypeAliasDeclaration>()
  const imports = new Map<string, ImportedName>()
  const localExports = new Map<string, string>()
  const valueExports = new Map<string, string>()
  const reExports = new Map<string, ImportedName>()
  const starExports: string[] = []

  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement)) {
      const specifier = specifierText(statement.moduleSpecifier)
      const clause = statement.importClause
      if (specifier === undefined || !clause) continue
      const typebox = typeBoxPackageOf(specifier)
      if (clause.name) {
        imports.set(clause.name.text, { specifier, name: 'default' })
        // typebox 1.x's default export is the `Type` namespace.
        if (typebox) builders.set(clause.name.text, typebox)
      }
      const bindings = clause.namedBindings
      if (bindings && ts.isNamespaceImport(bindings)) {
        imports.set(bindings.name.text, { specifier, name: '*' })
        if (typebox) builders.set(bindings.name.text, typebox)
      } else if (bindings) {
        for (const element of bindings.elements) {
          const name = (element.propertyName ?? element.name).text
          const local = element.name.text
          imports.set(local, { specifier, name })
          if (typebox && name === 'Type') builders.set(local, typebox)
          if (typebox && name === 'Static') statics.add(local)
        }
      }
    } else if (ts.isVariableStatement(statement)) {
      const exported = hasModifier(statement, ts.SyntaxKind.ExportKeyword)
      const flags = statement.declarationList.flags
      const kind = flags & ts.NodeFlags.Const ? 'const' : flags & ts.NodeFlags.Let ? 'let' : 'var'
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name)) continue
        const name = declaration.name.text
        consts.set(name, { declaration, kind })
        if (exported) {
          localExports.set(name, name)
          valueExports.set(name, name)
        }
      }
    } else if (ts.isTypeAliasDeclaration(statement)) {
      aliases.set(statement.name.text, statement)
      if (hasModifier(statement, ts.SyntaxKind.ExportKeyword))
        localExports.set(statement.name.text, statement.name.text)
    } else if (ts.isExportDeclaration(statement)) {
      const specifier = specifierText(statement.moduleSpecifier)
      const clause = statement.exportClause
      if (!clause) {
        if (specifier !== undefined) starExports.push(specifier)
        continue
      }
      if (!ts.isNamedExports(clause)) continue
      for (const element of clause.elements) {
        const name = (element.propertyName ?? element.name).getText(sourceFile)
        const exportedAs = element.name.getText(sourceFile)
        if (specifier === undefined) {
          localExports.set(exportedAs, name)
          if (!statement.isTypeOnly && !element.isTypeOnly) valueExports.set(exportedAs, name)
        } else {
          reExports.set(exportedAs, { specifier, name })
        }
      }
    }
  }
  return {
    path,
    sourceFile,
    builders,
    statics,
    consts,
    aliases,
    imports,
    localExports,
    valueExports,
    reExports,
    starExports,
  }
}
