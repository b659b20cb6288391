/**
 * The function model: what the scanner finds and the emitters read. It is plain data so the
 * scanner (ts-morph today) can be replaced without touching the emitters.
 */

import type { DspCode } from 'dispatch-functions/protocol'

/** The two TypeBox packages a schema can be built with. */
export type TypeBoxPackage = 'typebox' | '@sinclair/typebox'

/** A top-level exported `Type.*` const, the schema of a parameter or an output. */
export interface SchemaRef {
  /** The const's exported name. */
  readonly name: string
  /** The file that declares it, relative to the package root, with `/` separators. */
  readonly file: string
  /** The package its `Type` came from; the generated client takes `Static` from the same one. */
  readonly typebox: TypeBoxPackage
}

/** One positional parameter of a dispatch function. */
export interface ParameterModel {
  readonly name: string
  readonly schema: SchemaRef
  /** True for trailing `x?:` or defaulted parameters. */
  readonly optional: boolean
}

/**
 * The flow options a function declares with JSDoc tags (docs/flow-control.md), checked by the
 * scanner. Only options this version enforces get here: the others are refused at generation.
 */
export interface FlowModel {
  /** `@priority N`: 0 to 100. */
  readonly priority?: number
  /** `@concurrency N key=path`: the limit, and where the key is read (argument index, then fields). */
  readonly concurrency?: {
    readonly limit: number
    readonly key?: { readonly arg: number; readonly path: readonly string[] }
  }
  /** `@rateLimit N/period key=path`: the starts allowed per period (ms), and where the key is read. */
  readonly rateLimit?: {
    readonly limit: number
    readonly periodMs: number
    readonly key?: { readonly arg: number; readonly path: readonly string[] }
  }
  /** `@debounce 5s key=path keep=last max=1m`: the window and max wait (ms), which input is kept, where the key is read. */
  readonly debounce?: {
    readonly windowMs: number
    readonly key?: { readonly arg: number; readonly path: readonly string[] }
    readonly keep?: 'last' | 'first'
    readonly maxMs?: number
  }
  /** `@schedule "cron" tz=Zone missed=... input=[...]`: the scheduler runs the function on it. */
  readonly schedule?: ScheduleModel
}

/** A function's `@schedule` (docs/flow-control.md, "Schedules"), checked: the cron expression and zone parse. */
export interface ScheduleModel {
  readonly cron: string
  readonly timezone?: string
  /** Absent: `skip`. */
  readonly missed?: 'catchup'
  readonly catchUp?: number
  /** The arguments of each tick's call. */
  readonly input?: readonly unknown[]
}

/** One dispatch function, as declared. */
export interface FunctionModel {
  /** The exported name, which is also the registered function name. */
  readonly name: string
  /** The declaring file, relative to the package root, with `/` separators. */
  readonly file: string
  /** 1-based position of the function's name. */
  readonly line: number
  readonly column: number
  /** The JSDoc description, if any. */
  readonly description: string | undefined
  /** The declared code version (a JSDoc `@version` tag), if any: only its change restarts in-flight coroutines. */
  readonly version?: string
  /** Its flow options (`@priority`, ...), when it declares any. */
  readonly flow?: FlowModel
  readonly parameters: readonly ParameterModel[]
  /** The output schema, or undefined for `void` / `Promise<void>`. */
  readonly output: SchemaRef | undefined
}

/** A problem found in the user's code or configuration, with where it is and what to do. */
export interface Diagnostic {
  /** A stable `DSP1xxx` code of the error catalog (docs/errors.md; each form in docs/codegen.md). */
  readonly code: DspCode
  /** Relative to the package root, with `/` separators. */
  readonly file: string
  /** 1-based. */
  readonly line: number
  readonly column: number
  readonly message: string
  readonly hint: string
}

/** An exported function that is not a dispatch function, and why (`dispatch gen --verbose` lists them). */
export interface SkippedFunction {
  /** The exported name; `default` for a default export. */
  readonly name: string
  /** Relative to the package root, with `/` separators. */
  readonly file: string
  /** 1-based. */
  readonly line: number
  readonly column: number
  readonly reason: string
}

/** What a scan produces: functions sorted by name, and every problem found on the way. */
export interface ScanResult {
  readonly functions: readonly FunctionModel[]
  readonly diagnostics: readonly Diagnostic[]
  /** Exported functions passed over as ordinary code, sorted by place. */
  readonly skipped: readonly SkippedFunction[]
  /** Files read to build the model (function files and the schema files they import), absolute. */
  readonly dependencies: readonly string[]
  /** How many files this scan parsed; in watch mode, only the changed ones. */
  readonly parsed: number
}

/** Input of a scan: the package root and the function files, both absolute. */
export interface ScanInput {
  readonly root: string
  readonly files: readonly string[]
  /** Files changed since the previous scan; only they (and files that depend on them) are re-read. */
  readonly changed?: ReadonlySet<string>
}

/**
 * The scanner behind `dispatch gen`: source files in, a model of functions and diagnostics out.
 * It keeps parsed files between scans, so a watcher re-parses only what changed.
 */
export interface Scanner {
  scan(input: ScanInput): ScanResult
}
