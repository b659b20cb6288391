/**
 * @module
 * dispatch-functions-tools/codegen: the generator behind `dispatch gen`. It scans TypeBox-typed
 * exported functions (ts-morph, syntax only) into a model, and emits `client.gen.ts` (a typed
 * client that imports types only) and `routes.gen.ts` (the route table the endpoint serves).
 * ts-morph is loaded on the first generation, not when this module is imported.
 *
 * @example
 * ```ts
 * import { formatDiagnostic, generate } from 'dispatch-functions-tools/codegen'
 *
 * const result = await generate({ cwd: process.cwd() })
 * for (const diagnostic of result.diagnostics) console.error(formatDiagnostic(diagnostic))
 * for (const file of result.files) console.log(file.state, file.path)
 * ```
 */

export { emitClient } from './emitClient.js'
export { emitRoutes } from './emitRoutes.js'
export type { GeneratedFile, GenerateResult, Generator, GeneratorOptions, RunOptions } from './generate.js'
export { createGenerator, generate } from './generate.js'
export type { DispatchConfig, LoadedConfig } from './loadConfig.js'
export { DEFAULT_CONFIG, loadConfig, parseConfig } from './loadConfig.js'
export { compareDiagnostics, formatDiagnostic, formatSkipped } from './model/formatDiagnostic.js'
export type {
  Diagnostic,
  FunctionModel,
  ParameterModel,
  ScanInput,
  Scanner,
  ScanResult,
  SchemaRef,
  SkippedFunction,
  TypeBoxPackage,
} from './model/model.js'
export type { Watcher, WatchOptions } from './watchFunctions.js'
export { watchFunctions } from './watchFunctions.js'
