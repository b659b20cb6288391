import { relative } from 'node:path'
import {
  type ArrowFunction,
  type FunctionDeclaration,
  type FunctionExpression,
  type JSDoc,
  type Node,
  SyntaxKind,
} from 'ts-morph'
import type { Diagnostic, FunctionModel, ParameterModel, SchemaRef } from '../model.js'
import type { FileIndex } from './fileIndex.js'
import { type ResolveContext, resolveType, type TypeResolution, toPosix } from './resolveSchema.js'

/** PROTOCOL.md's function-name pattern. */
const NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_<>.]*$/

type FunctionLike = FunctionDeclaration | ArrowFunction | FunctionExpression

/** An exported function found at the top level, before it is checked. */
interface Candidate {
  readonly name: string | undefined
  readonly nameNode: Node
  readonly fn: FunctionLike
  readonly docs: readonly JSDoc[]
  readonly isDefault: boolean
}

/** What scanning one file gives. */
export interface FileScan {
  readonly functions: FunctionModel[]
  readonly diagnostics: Diagnostic[]
}

function candidates(index: FileIndex): Candidate[] {
  const found: Candidate[] = []
  for (const statement of index.sourceFile.getStatements()) {
    const kind = statement.getKind()
    if (kind === SyntaxKind.FunctionDeclaration) {
      const fn = statement.asKindOrThrow(SyntaxKind.FunctionDeclaration)
      // Overload signatures have no body; the implementation that follows carries the parameters.
      if (!fn.hasExportKeyword() || !fn.hasBody()) continue
      const isDefault = fn.hasDefaultKeyword()
      found.push({
        name: isDefault ? undefined : fn.getName(),
        nameNode: fn.getNameNode() ?? fn,
        fn,
        docs: fn.getJsDocs(),
        isDefault,
      })
    } else if (kind === SyntaxKind.VariableStatement) {
      const variables = statement.asKindOrThrow(SyntaxKind.VariableStatement)
      if (!variables.hasExportKeyword()) continue
      for (const declaration of variables.getDeclarations()) {
        const initializer = declaration.getInitializer()
        const fn =
          initializer?.asKind(SyntaxKind.ArrowFunction) ??
          initializer?.asKind(SyntaxKind.FunctionExpression) ??
          undefined
        if (!fn || declaration.getNameNode().getKind() !== SyntaxKind.Identifier) continue
        found.push({
          name: declaration.getName(),
          nameNode: declaration.getNameNode(),
          fn,
          docs: variables.getJsDocs(),
          isDefault: false,
        })
      }
    } else if (kind === SyntaxKind.ExportAssignment) {
      const assignment = statement.asKindOrThrow(SyntaxKind.ExportAssignment)
      const expression = assignment.getExpression()
      const fn =
        expression.asKind(SyntaxKind.ArrowFunction) ?? expression.asKind(SyntaxKind.FunctionExpression) ?? undefined
      if (fn && !assignment.isExportEquals()) {
        found.push({ name: undefined, nameNode: assignment, fn, docs: [], isDefault: true })
      }
    }
  }
  return found
}

/**
 * The text of the last JSDoc before its first tag line. Read from the raw comment: ts-morph's
 * description stops at any `@`, even inside a sentence (`@sinclair/typebox`).
 */
function description(docs: readonly JSDoc[]): string | undefined {
  const doc = docs.at(-1)
  if (!doc) return undefined
  const lines: string[] = []
  for (const raw of doc
    .getText()
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')) {
    const line = raw.replace(/^\s*\*?\s?/, '').trimEnd()
    if (line.startsWith('@')) break
    lines.push(line)
  }
  const text = lines.join('\n').trim()
  return text ? text : undefined
}

/** Scans one file's exported functions: dispatch functions become models, near misses diagnostics. */
export function scanFile(context: ResolveContext, index: FileIndex): FileScan {
  const file = toPosix(relative(context.root, index.path))
  const sourceFile = index.sourceFile
  const functions: FunctionModel[] = []
  const diagnostics: Diagnostic[] = []
  const report = (node: Node, code: string, message: string, hint: string) => {
    const { line, column } = sourceFile.getLineAndColumnAtPos(node.getStart())
    diagnostics.push({ code, file, line, column, message, hint })
  }

  for (const candidate of candidates(index)) {
    const { fn } = candidate
    const parameters = fn.getParameters()
    const resolved: TypeResolution[] = parameters.map((parameter) => {
      const typeNode = parameter.getTypeNode()
      return typeNode ? resolveType(context, index, typeNode) : { kind: 'plain' }
    })
    // A function with no schema-typed parameter is ordinary code, not a dispatch function.
    const typed = resolved.filter((r) => r.kind !== 'plain')
    if (typed.length === 0) continue

    const label = candidate.name === undefined ? 'the default export' : `\`${candidate.name}\``
    const before = diagnostics.length
    if (candidate.isDefault || candidate.name === undefined) {
      report(
        candidate.nameNode,
        'DSP1008',
        'a default export cannot be a dispatch function: it has no name to register',
        'export it by name: `export async function name(...)`',
      )
      continue
    }
    const name = candidate.name
    if (!NAME_PATTERN.test(name)) {
      report(
        candidate.nameNode,
        'DSP1010',
        `${label} is not a valid function name (pattern ^[a-zA-Z_][a-zA-Z0-9_<>.]*$)`,
        'rename the function: letters, digits and _ only, not starting with a digit',
      )
    }
    if (fn.getTypeParameters().length > 0) {
      report(
        candidate.nameNode,
        'DSP1012',
        `${label} has type parameters; a dispatch function's types must be fixed by its schemas`,
        'remove the type parameters and type each parameter with Static<typeof Schema>',
      )
    }
    const firstTyped = parameters[resolved.findIndex((r) => r.kind !== 'plain')]!.getName()
    parameters.forEach((parameter, i) => {
      const resolution = resolved[i]!
      if (parameter.isRestParameter()) {
        report(
          parameter,
          'DSP1005',
          `rest parameter \`${parameter.getText()}\` in ${label}: arguments travel as a fixed JSON array`,
          'replace it with one parameter typed by an array schema: `items: Static<typeof Items>`',
        )
      } else if (parameter.getNameNode().getKind() !== SyntaxKind.Identifier) {
        report(
          parameter,
          'DSP1004',
          `destructured parameter in ${label}: a dispatch function's parameters need names for the client`,
          'take the object as a named parameter and destructure it in the body',
        )
      } else if (resolution.kind === 'plain') {
        report(
          parameter,
          'DSP1003',
          `parameter \`${parameter.getName()}\` of ${label} has no TypeBox schema type, but \`${firstTyped}\` has`,
          'type every parameter as Static<typeof Schema> (or an alias of it), or stop exporting the function',
        )
      } else if (resolution.kind === 'invalid') {
        report(
          parameter.getTypeNode() ?? parameter,
          resolution.problem.code,
          resolution.problem.message,
          resolution.problem.hint,
        )
      }
    })

    let output: SchemaRef | undefined
    const returnType = fn.getReturnTypeNode()
    if (!returnType) {
      report(
        candidate.nameNode,
        'DSP1011',
        `${label} has no return type annotation; the client needs it to type the output`,
        'annotate it: `: Promise<void>` or `: Promise<Static<typeof Output>>`',
      )
    } else {
      let inner = returnType
      const reference = returnType.asKind(SyntaxKind.TypeReference)
      const args = reference?.getTypeArguments() ?? []
      if (reference && reference.getTypeName().getText() === 'Promise' && args.length === 1) inner = args[0]!
      if (inner.getKind() !== SyntaxKind.VoidKeyword) {
        const resolution = resolveType(context, index, inner)
        if (resolution.kind === 'schema') output = resolution.schema
        else if (resolution.kind === 'invalid') {
          report(inner, resolution.problem.code, resolution.problem.message, resolution.problem.hint)
        } else {
          report(
            returnType,
            'DSP1011',
            `the return type \`${returnType.getText()}\` of ${label} is not a schema type`,
            'return `Promise<Static<typeof Output>>` (or an alias of it), or `Promise<void>` for no output',
          )
        }
      }
    }
    if (diagnostics.length > before) continue

    // Trailing parameters with `?` or a default are optional; TypeScript keeps them last.
    const models: ParameterModel[] = []
    parameters.forEach((parameter, i) => {
      const resolution = resolved[i] as { kind: 'schema'; schema: SchemaRef }
      const optional = parameter.hasQuestionToken() || parameter.hasInitializer()
      models.push({ name: parameter.getName(), schema: resolution.schema, optional })
    })
    for (let i = models.length - 2; i >= 0; i--) {
      if (!models[i + 1]!.optional && models[i]!.optional) models[i] = { ...models[i]!, optional: false }
    }
    const { line, column } = sourceFile.getLineAndColumnAtPos(candidate.nameNode.getStart())
    functions.push({
      name,
      file,
      line,
      column,
      description: description(candidate.docs),
      parameters: models,
      output,
    })
  }
  return { functions, diagnostics }
}
