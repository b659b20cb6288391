import { existsSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import type { ts as TS } from 'ts-morph'
import type { SchemaRef } from '../model/model.js'
import type { FileIndex } from './fileIndex.js'
import { ts } from './tsMorph.js'

/** Where the resolver reads other files; it records each one as a dependency of the file being scanned. */
export interface ResolveContext {
  readonly root: string
  /** The index of the file at an absolute path, or undefined when there is no such file. */
  index(path: string): FileIndex | undefined
}

/** Why a parameter or return type that names a schema cannot be used. */
export interface SchemaProblem {
  readonly code: 'DSP1006' | 'DSP1007'
  readonly message: string
  readonly hint: string
}

/** What a type annotation turned out to be. */
export type TypeResolution =
  | { readonly kind: 'schema'; readonly schema: SchemaRef }
  | { readonly kind: 'invalid'; readonly problem: SchemaProblem }
  | { readonly kind: 'plain' }

type ConstResolution = { readonly schema: SchemaRef } | { readonly problem: SchemaProblem }

// Re-export chains and aliases of aliases are short; a deeper chain is a cycle.
const MAX_DEPTH = 16
const PLAIN: TypeResolution = { kind: 'plain' }

const CONST_HINT = 'declare the schema at the top level as `export const X = Type.Object({ ... })`'

export function toPosix(path: string): string {
  return path.replace(/\\/g, '/')
}

/** The file a relative import points at (`./x.js` → `./x.ts`), or undefined for packages and missing files. */
export function resolveModule(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined
  const base = resolve(dirname(from), specifier)
  const candidates = /\.m?js$/.test(base)
    ? [base.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts'), base.replace(/\.js$/, '.tsx')]
    : /\.(m|c)?tsx?$/.test(base)
      ? [base]
      : [`${base}.ts`, `${base}.tsx`, `${base}/index.ts`]
  return candidates.find((candidate) => existsSync(candidate))
}

/** Finds which file and local name an export comes from, following `export { } from` and `export *`. */
function findExport(
  context: ResolveContext,
  index: FileIndex,
  name: string,
  depth: number,
): { index: FileIndex; local: string } | undefined {
  if (depth > MAX_DEPTH) return undefined
  const local = index.localExports.get(name)
  if (local !== undefined) return { index, local }
  const reExport = index.reExports.get(name)
  if (reExport) {
    const target = resolveModule(index.path, reExport.specifier)
    const targetIndex = target === undefined ? undefined : context.index(target)
    return targetIndex && findExport(context, targetIndex, reExport.name, depth + 1)
  }
  for (const specifier of index.starExports) {
    const target = resolveModule(index.path, specifier)
    const targetIndex = target === undefined ? undefined : context.index(target)
    const found = targetIndex && findExport(context, targetIndex, name, depth + 1)
    if (found) return found
  }
  return undefined
}

function unwrap(expression: TS.Expression): TS.Expression {
  let node = expression
  while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) {
    node = node.expression
  }
  return node
}

/** The TypeBox package of `Type.X(...)` / `T.Type.X(...)`, or undefined when it is built some other way. */
function builderPackage(index: FileIndex, initializer: TS.Expression | undefined) {
  if (!initializer) return undefined
  const call = unwrap(initializer)
  if (!ts.isCallExpression(call)) return undefined
  let callee = call.expression
  if (!ts.isPropertyAccessExpression(callee)) return undefined
  while (ts.isPropertyAccessExpression(callee)) callee = callee.expression
  return ts.isIdentifier(callee) ? index.builders.get(callee.text) : undefined
}

/** Resolves a value name used in `typeof X` to the top-level exported `Type.*` const it denotes. */
export function resolveConst(context: ResolveContext, index: FileIndex, local: string, depth = 0): ConstResolution {
  const where = toPosix(relative(context.root, index.path))
  if (depth > MAX_DEPTH) {
    return {
      problem: { code: 'DSP1006', message: `cannot resolve \`${local}\`: the imports form a cycle`, hint: CONST_HINT },
    }
  }
  const found = index.consts.get(local)
  if (found) {
    const { declaration, kind } = found
    if (kind !== 'const') {
      return {
        problem: {
          code: 'DSP1006',
          message: `schema \`${local}\` (${where}) is declared with \`${kind}\`, not \`const\``,
          hint: CONST_HINT,
        },
      }
    }
    const typebox = builderPackage(index, declaration.initializer)
    if (!typebox) {
      const text = declaration.initializer?.getText(index.sourceFile).replace(/\s+/g, ' ').slice(0, 40) ?? '(nothing)'
      return {
        problem: {
          code: 'DSP1006',
          message: `\`${local}\` (${where}) is not a TypeBox schema built with \`Type.*\`: it is \`${text}\``,
          hint: `${CONST_HINT}, with Type imported from 'typebox' or '@sinclair/typebox'`,
        },
      }
    }
    let exportedAs: string | undefined
    for (const [exported, name] of index.valueExports) {
      if (name === local && (exportedAs === undefined || exported === local)) exportedAs = exported
    }
    if (exportedAs === undefined) {
      return {
        problem: {
          code: 'DSP1007',
          message: `schema \`${local}\` is not exported from ${where}`,
          hint: `add \`export\` (\`export const ${local} = ...\`): the generated route table imports it`,
        },
      }
    }
    return { schema: { name: exportedAs, file: where, typebox } }
  }
  const imported = index.imports.get(local)
  if (imported) {
    if (imported.name === '*' || imported.name === 'default') {
      return {
        problem: {
          code: 'DSP1006',
          message: `schema \`${local}\` is a ${imported.name === '*' ? 'namespace' : 'default'} import of '${imported.specifier}'`,
          hint: `import the schema const by name: import { X } from '${imported.specifier}'`,
        },
      }
    }
    const target = resolveModule(index.path, imported.specifier)
    const targetIndex = target === undefined ? undefined : context.index(target)
    if (!targetIndex) {
      const relativeSpecifier = imported.specifier.startsWith('.')
      return {
        problem: {
          code: 'DSP1006',
          message: relativeSpecifier
            ? `cannot find '${imported.specifier}', imported by ${where} for schema \`${local}\``
            : `schema \`${local}\` comes from the package '${imported.specifier}'; dispatch gen follows relative imports only`,
          hint: relativeSpecifier
            ? 'check the import path'
            : 'declare the schema (or re-export it) in a file of this package, with Type.*',
        },
      }
    }
    const exported = findExport(context, targetIndex, imported.name, depth + 1)
    if (!exported) {
      return {
        problem: {
          code: 'DSP1006',
          message: `'${imported.specifier}' has no export named \`${imported.name}\` (imported by ${where})`,
          hint: 'check the import: the schema must be exported by name',
        },
      }
    }
    return resolveConst(context, exported.index, exported.local, depth + 1)
  }
  return {
    problem: {
      code: 'DSP1006',
      message: `\`${local}\` is not a top-level const of ${where} nor a named import`,
      hint: CONST_HINT,
    },
  }
}

/** Resolves a type name that may be an alias of `Static<typeof X>`, here or in an imported file. */
function resolveTypeName(context: ResolveContext, index: FileIndex, name: string, depth: number): TypeResolution {
  if (depth > MAX_DEPTH) return PLAIN
  const alias = index.aliases.get(name)
  if (alias) return alias.typeParameters ? PLAIN : resolveType(context, index, alias.type, depth + 1)
  const imported = index.imports.get(name)
  if (!imported || imported.name === '*' || imported.name === 'default') return PLAIN
  const target = resolveModule(index.path, imported.specifier)
  const targetIndex = target === undefined ? undefined : context.index(target)
  const found = targetIndex && findExport(context, targetIndex, imported.name, depth + 1)
  return found ? resolveTypeName(context, found.index, found.local, depth + 1) : PLAIN
}

/**
 * Classifies a parameter or return type: `Static<typeof X>` (or an alias of it) with X a valid
 * schema const, the same with a problem, or a type that has nothing to do with TypeBox.
 */
export function resolveType(
  context: ResolveContext,
  index: FileIndex,
  typeNode: TS.TypeNode,
  depth = 0,
): TypeResolution {
  if (!ts.isTypeReferenceNode(typeNode)) return PLAIN
  const typeName = typeNode.typeName
  const args = typeNode.typeArguments ?? []
  const isStatic = ts.isIdentifier(typeName)
    ? index.statics.has(typeName.text)
    : ts.isIdentifier(typeName.left) && index.builders.has(typeName.left.text) && typeName.right.text === 'Static'
  if (!isStatic) {
    return ts.isIdentifier(typeName) && args.length === 0
      ? resolveTypeName(context, index, typeName.text, depth)
      : PLAIN
  }
  const query = args.length === 1 && args[0] && ts.isTypeQueryNode(args[0]) ? args[0] : undefined
  if (!query || !ts.isIdentifier(query.exprName)) {
    return {
      kind: 'invalid',
      problem: {
        code: 'DSP1006',
        message: `\`${typeNode.getText(index.sourceFile)}\` does not name a schema const: write \`Static<typeof X>\``,
        hint: `${CONST_HINT}, import it by name, and type the parameter \`Static<typeof X>\``,
      },
    }
  }
  const resolved = resolveConst(context, index, query.exprName.text, depth)
  return 'schema' in resolved
    ? { kind: 'schema', schema: resolved.schema }
    : { kind: 'invalid', problem: resolved.problem }
}
