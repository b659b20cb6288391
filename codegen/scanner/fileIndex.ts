import { type SourceFile, SyntaxKind, type TypeAliasDeclaration, type VariableDeclaration } from 'ts-morph'
import type { TypeBoxPackage } from '../model.js'

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
  readonly sourceFile: SourceFile
  /** Local names whose `.X(...)` builds a schema (`Type`, a namespace or default import), with their package. */
  readonly builders: ReadonlyMap<string, TypeBoxPackage>
  /** Local names of TypeBox's `Static`. */
  readonly statics: ReadonlySet<string>
  readonly consts: ReadonlyMap<string, VariableDeclaration>
  readonly aliases: ReadonlyMap<string, TypeAliasDeclaration>
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

export function indexFile(path: string, sourceFile: SourceFile): FileIndex {
  const builders = new Map<string, TypeBoxPackage>()
  const statics = new Set<string>()
  const consts = new Map<string, VariableDeclaration>()
  const aliases = new Map<string, TypeAliasDeclaration>()
  const imports = new Map<string, ImportedName>()
  const localExports = new Map<string, string>()
  const valueExports = new Map<string, string>()
  const reExports = new Map<string, ImportedName>()
  const starExports: string[] = []

  for (const statement of sourceFile.getStatements()) {
    switch (statement.getKind()) {
      case SyntaxKind.ImportDeclaration: {
        const declaration = statement.asKindOrThrow(SyntaxKind.ImportDeclaration)
        const specifier = declaration.getModuleSpecifierValue()
        const typebox = typeBoxPackageOf(specifier)
        const defaultImport = declaration.getDefaultImport()
        if (defaultImport) {
          imports.set(defaultImport.getText(), { specifier, name: 'default' })
          // typebox 1.x's default export is the `Type` namespace.
          if (typebox) builders.set(defaultImport.getText(), typebox)
        }
        const namespace = declaration.getNamespaceImport()
        if (namespace) {
          imports.set(namespace.getText(), { specifier, name: '*' })
          if (typebox) builders.set(namespace.getText(), typebox)
        }
        for (const named of declaration.getNamedImports()) {
          const name = named.getName()
          const local = named.getAliasNode()?.getText() ?? name
          imports.set(local, { specifier, name })
          if (typebox && name === 'Type') builders.set(local, typebox)
          if (typebox && name === 'Static') statics.add(local)
        }
        break
      }
      case SyntaxKind.VariableStatement: {
        const variables = statement.asKindOrThrow(SyntaxKind.VariableStatement)
        const exported = variables.hasExportKeyword()
        for (const declaration of variables.getDeclarations()) {
          const nameNode = declaration.getNameNode()
          if (nameNode.getKind() !== SyntaxKind.Identifier) continue
          const name = nameNode.getText()
          consts.set(name, declaration)
          if (exported) {
            localExports.set(name, name)
            valueExports.set(name, name)
          }
        }
        break
      }
      case SyntaxKind.TypeAliasDeclaration: {
        const alias = statement.asKindOrThrow(SyntaxKind.TypeAliasDeclaration)
        aliases.set(alias.getName(), alias)
        if (alias.hasExportKeyword()) localExports.set(alias.getName(), alias.getName())
        break
      }
      case SyntaxKind.ExportDeclaration: {
        const declaration = statement.asKindOrThrow(SyntaxKind.ExportDeclaration)
        const specifier = declaration.getModuleSpecifierValue()
        if (specifier !== undefined && !declaration.hasNamedExports()) {
          if (!declaration.getNamespaceExport()) starExports.push(specifier)
          break
        }
        for (const named of declaration.getNamedExports()) {
          const name = named.getName()
          const exportedAs = named.getAliasNode()?.getText() ?? name
          if (specifier === undefined) {
            localExports.set(exportedAs, name)
            if (!declaration.isTypeOnly() && !named.isTypeOnly()) valueExports.set(exportedAs, name)
          } else reExports.set(exportedAs, { specifier, name })
        }
        break
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
