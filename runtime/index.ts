/**
 * @module
 * dispatch-functions: durable, typed function dispatch. This entry point is what generated files
 * and application code import: the client factory, batches, the route-table helpers and the
 * error classes. The endpoint lives in `dispatch-functions/fastify` (a Fastify plugin),
 * `dispatch-functions/node` (node:http, Express, Koa) and `dispatch-functions/fetch` (Request →
 * Response: Hono, Next.js, Bun, Deno, Workers); the scheduler in
 * `dispatch-functions-tools/scheduler`, the generator in `dispatch-functions-tools/codegen`.
 *
 * @example
 * ```ts
 * import { dispatchClient } from './dispatch.gen/client.gen.js'
 * const id = await dispatchClient.publish('http://127.0.0.1:9000/hook', { hello: 'world' })
 * ```
 */

export type {
  AttemptInfo,
  CallCount,
  CallInfo,
  CallState,
  EndpointStats,
  GetStatsResponse,
  PurgeCallsResponse,
} from '../schemas/callService.js'
export type { DispatchErrorOptions } from '../schemas/errors/dispatchError.js'
export { DispatchError } from '../schemas/errors/dispatchError.js'
export type { Status } from '../schemas/status.js'
export type { DurableCallFailure } from './client/callFailedError.js'
export type {
  BuiltCall,
  CallOptions,
  CallServiceClient,
  ClientFunction,
  ClientOptions,
  DispatchClient,
  DurationInput,
  FlowDeclaration,
  FunctionDescriptor,
  FunctionSignature,
  ScheduleDeclaration,
  ScheduleServiceClient,
} from './client/index.js'
export {
  CallFailedError,
  createCallServiceClient,
  createClient,
  createScheduleServiceClient,
  dispatchBatch,
  waitForResult,
} from './client/index.js'
export { TailCallSignal, tailCall } from './client/tailCall.js'
export type { CallContext } from './context/index.js'
export { currentCall, findCurrentCall } from './context/index.js'
export type { StepContext, StepFunction, StepOptions, WaitForSignalOptions } from './coroutine/index.js'
export {
  all,
  allSettled,
  any,
  now,
  patched,
  race,
  random,
  sleep,
  step,
  uuid,
  waitForSignal,
} from './coroutine/index.js'
export {
  FunctionError,
  IncompatibleStateError,
  InvalidArgumentError,
  InvalidResponseError,
  NotFoundError,
  PermanentError,
  PermissionDeniedError,
  TemporaryError,
  ThrottledError,
  TimeoutError,
  UnauthenticatedError,
} from './errors/functionError.js'
export type { ResponseLike } from './errors/httpResponse.js'
export { HttpResponseError, httpError, statusOfResponse, throwForResponse } from './errors/httpResponse.js'
export { SignalTimeoutError } from './errors/signalTimeoutError.js'
export type { StepFailure } from './errors/stepFailedError.js'
export { StepFailedError } from './errors/stepFailedError.js'
export type { JsonSchema, Route, RouteDefinition, Routes, SchemaObject, SourceLocation } from './route.js'
export { defineRoutes, tupleSchema } from './route.js'
export type { SigningKeyPair } from './signing/index.js'
export { generateSigningKeyPair, parsePrivateKey, parsePublicKey } from './signing/index.js'
export type { ClassifyOptions, ErrorClass, ErrorClassifier } from './status/index.js'
export { classifyError, errorClassifier, registerErrorClassifier } from './status/index.js'
