import { relative } from 'node:path'
import type { DspCode } from 'dispatch-functions/protocol'
import type { ts as TS } from 'ts-morph'
import type { Diagnostic, FunctionModel, ParameterModel, SchemaRef, SkippedFunction } from '../model/model.js'
import { type FileIndex, hasModifier } from './fileIndex.js'
import { readFlowTags, tagLines } from './flowTags.js'
import { type ResolveContext, resolveType, type TypeResolution, toPosix } from './resolveSchema.js'
import { ts } from './tsMorph.js'

/** The function-name pattern of docs/protocol.md §3.1. */
const NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_<>.]*$/

type FunctionLike = TS.FunctionDeclaration | TS.ArrowFunction | TS.FunctionExpression

/** An exported function found at the top level, before it is checked. */
interface Candidate {
  readonly name: string | undefined
  readonly nameNode: TS.Node
  readonly fn: FunctionLike
  /** The statement whose leading JSDoc describes the function. */
  readonly documented: TS.Node | undefined
}

/** What scanning one file gives. */
export interface FileScan {
  readonly functions: FunctionModel[]
  readonly diagnostics: Diagnostic[]
  readonly skipped: SkippedFunction[]
}

const COMPOSITE_HINT =
  'declare one schema for the whole type (`export const Ids = Type.Array(Id)`, `Type.Union([A, B])`) ' +
  'and use `Static<typeof Ids>`'

function asFunction(node: TS.Expression | undefined): TS.ArrowFunction | TS.FunctionExpression | undefined {
  return node && (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) ? node : undefined
}

function candidates(index: FileIndex): Candidate[] {
  const found: Candidate[] = []
  for (const statement of index.sourceFile.statements) {
    if (ts.isFunctionDeclaration(statement)) {
      // Overload signatures have no body; the implementation that follows carries the parameters.
      if (!hasModifier(statement, ts.SyntaxKind.ExportKeyword) || !statement.body) continue
      const isDefault = hasModifier(statement, ts.SyntaxKind.DefaultKeyword)
      found.push({
        name: isDefault ? undefined : statement.name?.text,
        nameNode: (!isDefault && statement.name) || statement,
        fn: statement,
        documented: statement,
      })
    } else if (ts.isVariableStatement(statement)) {
      if (!hasModifier(statement, ts.SyntaxKind.ExportKeyword)) continue
      for (const declaration of statement.declarationList.declarations) {
        const fn = asFunction(declaration.initializer)
        if (!fn || !ts.isIdentifier(declaration.name)) continue
        found.push({ name: declaration.name.text, nameNode: declaration.name, fn, documented: statement })
      }
    } else if (ts.isExportAssignment(statement) && !statement.isExportEquals) {
      const fn = asFunction(statement.expression)
      if (fn) found.push({ name: undefined, nameNode: statement, fn, documented: undefined })
    }
  }
  return found
}

/**
 * The text of the last JSDoc comment before a statement, up to its first tag line. Read from the
 * raw comment so an `@` inside a sentence (`@sinclair/typebox`) does not cut it short.
 */
function description(sourceFile: TS.SourceFile, node: TS.Node | undefined): string | undefined {
  if (!node) return undefined
  const text = sourceFile.text
  const comment = ts
    .getLeadingCommentRanges(text, node.pos)
    ?.filter((range) => text.startsWith('/**', range.pos))
    .at(-1)
  if (!comment) return undefined
  const lines: string[] = []
  for (const raw of text.slice(comment.pos + 3, comment.end - 2).split('\n')) {
    const line = raw.replace(/^\s*\*?\s?/, '').trimEnd()
    if (line.startsWith('@')) break
    lines.push(line)
  }
  const joined = lines.join('\n').trim()
  return joined ? joined : undefined
}

/** The first word after a `@version` tag of the last JSDoc comment before a statement, if any. */
function versionTag(sourceFile: TS.SourceFile, node: TS.Node | undefined): string | undefined {
  if (!node) return undefined
  const text = sourceFile.text
  const comment = ts
    .getLeadingCommentRanges(text, node.pos)
    ?.filter((range) => text.startsWith('/**', range.pos))
    .at(-1)
  if (!comment) return undefined
  for (const raw of text.slice(comment.pos + 3, comment.end - 2).split('\n')) {
    const match = /^\s*\*?\s*@version\s+(\S+)/.exec(raw)
    if (match) return match[1]
  }
  return undefined
}

/** The tag lines of the last JSDoc comment before a statement (none without one). */
function jsDocTags(sourceFile: TS.SourceFile, node: TS.Node | undefined) {
  if (!node) return []
  const text = sourceFile.text
  const comment = ts
    .getLeadingCommentRanges(text, node.pos)
    ?.filter((range) => text.startsWith('/**', range.pos))
    .at(-1)
  return comment ? tagLines(text, comment.pos + 3, comment.end) : []
}

/** Scans one file's exported functions: dispatch functions become models, near misses diagnostics. */
export function scanFile(context: ResolveContext, index: FileIndex): FileScan {
  const file = toPosix(relative(context.root, index.path))
  const sourceFile = index.sourceFile
  const functions: FunctionModel[] = []
  const diagnostics: Diagnostic[] = []
  const skipped: SkippedFunction[] = []
  const position = (node: TS.Node) => {
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile))
    return { line: line + 1, column: character + 1 }
  }
  const report = (node: TS.Node, code: DspCode, message: string, hint: string) => {
    diagnostics.push({ code, file, ...position(node), message, hint })
  }
  const text = (node: TS.Node) => node.getText(sourceFile)

  /** The type inside `Promise<…>`, or the type itself. */
  const unwrapPromise = (type: TS.TypeNode): TS.TypeNode =>
    ts.isTypeReferenceNode(type) &&
    ts.isIdentifier(type.typeName) &&
    type.typeName.text === 'Promise' &&
    type.typeArguments?.length === 1
      ? type.typeArguments[0]!
      : type
  const returnsSchema = (fn: { readonly type?: TS.TypeNode | undefined }): boolean =>
    fn.type !== undefined && resolveType(context, index, unwrapPromise(fn.type)).kind === 'schema'
  /**
   * True when a type that is not itself `Static<typeof X>` contains one (`Static<typeof Id>[]`, a
   * union, a tuple): the author meant a dispatch function, so it is reported rather than passed over.
   */
  const mentionsSchema = (type: TS.Node | undefined): boolean => {
    if (type === undefined) return false
    if (ts.isTypeReferenceNode(type) && resolveType(context, index, type).kind !== 'plain') return true
    return ts.forEachChild(type, (child) => (mentionsSchema(child) ? true : undefined)) === true
  }

  for (const candidate of candidates(index)) {
    const { fn } = candidate
    const parameters = fn.parameters
    const resolved: TypeResolution[] = parameters.map((parameter) =>
      parameter.type ? resolveType(context, index, parameter.type) : { kind: 'plain' },
    )
    // Parameters whose type holds a schema type without being one (`...ids: Static<typeof Id>[]`).
    const composite = parameters.map((parameter, i) => resolved[i]!.kind === 'plain' && mentionsSchema(parameter.type))
    // A function with no schema-typed parameter is ordinary code, not a dispatch function — unless
    // it takes no parameters at all and returns a schema type (`slowA(): Promise<Static<typeof R>>`),
    // or declares a `@schedule` (a job the scheduler runs with no arguments: `nightly(): Promise<void>`).
    let firstTyped = resolved.findIndex((r) => r.kind !== 'plain')
    if (firstTyped < 0) firstTyped = composite.indexOf(true)
    const scheduled = () => jsDocTags(sourceFile, candidate.documented).some((line) => line.tag === 'schedule')
    if (firstTyped < 0 && !(parameters.length === 0 && (returnsSchema(fn) || mentionsSchema(fn.type) || scheduled()))) {
      skipped.push({
        name: candidate.name ?? 'default',
        file,
        ...position(candidate.nameNode),
        reason:
          parameters.length === 0
            ? 'it takes no parameters and its return type is not a schema type'
            : 'no parameter is typed `Static<typeof Schema>`',
      })
      continue
    }

    const name = candidate.name
    if (name === undefined) {
      report(
        candidate.nameNode,
        'DSP1008',
        'a default export cannot be a dispatch function: it has no name to register',
        'export it by name: `export async function name(...)`',
      )
      continue
    }
    const label = `\`${name}\``
    const before = diagnostics.length
    if (!NAME_PATTERN.test(name)) {
      report(
        candidate.nameNode,
        'DSP1010',
        `${label} is not a valid function name (pattern ^[a-zA-Z_][a-zA-Z0-9_<>.]*$)`,
        'rename the function: letters, digits and _ only, not starting with a digit',
      )
    }
    if (fn.typeParameters && fn.typeParameters.length > 0) {
      report(
        candidate.nameNode,
        'DSP1012',
        `${label} has type parameters; a dispatch function's types must be fixed by its schemas`,
        'remove the type parameters and type each parameter with Static<typeof Schema>',
      )
    }
    const typedName = firstTyped < 0 ? '' : text(parameters[firstTyped]!.name)
    parameters.forEach((parameter, i) => {
      const resolution = resolved[i]!
      if (parameter.dotDotDotToken) {
        report(
          parameter,
          'DSP1005',
          `rest parameter \`${text(parameter)}\` in ${label}: arguments travel as a fixed JSON array`,
          'replace it with one parameter typed by an array schema: `items: Static<typeof Items>`',
        )
      } else if (!ts.isIdentifier(parameter.name)) {
        report(
          parameter,
          'DSP1004',
          `destructured parameter in ${label}: a dispatch function's parameters need names for the client`,
          'take the object as a named parameter and destructure it in the body',
        )
      } else if (composite[i]) {
        report(
          parameter.type ?? parameter,
          'DSP1015',
          `parameter \`${parameter.name.text}\` of ${label} is typed \`${text(parameter.type!)}\`, which holds schema types but is not one`,
          COMPOSITE_HINT,
        )
      } else if (resolution.kind === 'plain') {
        report(
          parameter,
          'DSP1003',
          `parameter \`${parameter.name.text}\` of ${label} has no TypeBox schema type, but \`${typedName}\` has`,
          'type every parameter as Static<typeof Schema> (or an alias of it), or stop exporting the function',
        )
      } else if (resolution.kind === 'invalid') {
        const { code, message, hint } = resolution.problem
        report(parameter.type ?? parameter, code, message, hint)
      }
    })

    let output: SchemaRef | undefined
    const returnType = fn.type
    if (!returnType) {
      report(
        candidate.nameNode,
        'DSP1011',
        `${label} has no return type annotation; the client needs it to type the output`,
        'annotate it: `: Promise<void>` or `: Promise<Static<typeof Output>>`',
      )
    } else {
      const inner = unwrapPromise(returnType)
      if (inner.kind !== ts.SyntaxKind.VoidKeyword) {
        const resolution = resolveType(context, index, inner)
        if (resolution.kind === 'schema') output = resolution.schema
        else if (resolution.kind === 'invalid') {
          report(inner, resolution.problem.code, resolution.problem.message, resolution.problem.hint)
        } else if (mentionsSchema(inner)) {
          report(
            returnType,
            'DSP1015',
            `the return type \`${text(returnType)}\` of ${label} holds schema types but is not one`,
            COMPOSITE_HINT,
          )
        } else {
          report(
            returnType,
            'DSP1011',
            `the return type \`${text(returnType)}\` of ${label} is not a schema type`,
            'return `Promise<Static<typeof Output>>` (or an alias of it), or `Promise<void>` for no output',
          )
        }
      }
    }
    // Parameters with `?` or a default are optional, and only trailing ones can be: arguments travel
    // as a JSON array, so a client cannot leave out one that comes before a required one.
    const isOptional = (parameter: TS.ParameterDeclaration) =>
      parameter.questionToken !== undefined || parameter.initializer !== undefined
    const lastRequired = parameters.findLastIndex((parameter) => !isOptional(parameter))
    parameters.forEach((parameter, i) => {
      if (i < lastRequired && isOptional(parameter) && ts.isIdentifier(parameter.name)) {
        report(
          parameter,
          'DSP1016',
          `optional parameter \`${parameter.name.text}\` of ${label} comes before the required \`${text(parameters[lastRequired]!.name)}\`: a caller cannot leave it out`,
          'make the parameters after it optional too, or move it after the required ones',
        )
      }
    })
    // Flow tags are checked with the rest: a malformed one is reported at the tag, and the function is left out.
    const parameterNames = parameters.map((parameter) => text(parameter.name))
    const required = lastRequired + 1
    const { flow, problems } = readFlowTags(jsDocTags(sourceFile, candidate.documented), parameterNames, required)
    for (const problem of problems) {
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(problem.offset)
      diagnostics.push({
        code: problem.code,
        file,
        line: line + 1,
        column: character + 1,
        message: `${problem.message} (on ${label})`,
        hint: problem.hint,
      })
    }
    if (diagnostics.length > before) continue

    const models: ParameterModel[] = parameters.map((parameter, i) => ({
      name: text(parameter.name),
      schema: (resolved[i] as { kind: 'schema'; schema: SchemaRef }).schema,
      optional: isOptional(parameter),
    }))
    const version = versionTag(sourceFile, candidate.documented)
    functions.push({
      name,
      file,
      ...position(candidate.nameNode),
      description: description(sourceFile, candidate.documented),
      ...(version === undefined ? {} : { version }),
      ...(flow === undefined ? {} : { flow }),
      parameters: models,
      output,
    })
  }
  return { functions, diagnostics, skipped }
}
