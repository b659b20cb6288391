/**
 * @module
 * TypeBox schemas of the `dispatch.sdk.v1` wire protocol (proto3 JSON mapping, docs/protocol.md) — the one place
 * message shapes are defined. Every message crossing a process boundary is validated against these.
 *
 * @example
 * ```ts
 * import { RunRequest } from '../schemas/index.js'
 * ```
 */
export { Call, CallResult, EndpointUrl, FUNCTION_NAME_PATTERN, FunctionName } from './call.js'
export {
  AttemptInfo,
  CALL_SERVICE_PATH,
  CallCount,
  CallInfo,
  CallResponse,
  CallState,
  CancelCallRequest,
  EndpointStats,
  GetCallRequest,
  GetCallResponse,
  GetStatsRequest,
  GetStatsResponse,
  ListCallsRequest,
  ListCallsResponse,
  PurgeCallsRequest,
  PurgeCallsResponse,
  RedriveCallRequest,
  TERMINAL_STATES,
  WaitCallRequest,
  WaitCallResponse,
} from './callService.js'
export { ConnectError, DispatchCall, DispatchRequest, DispatchResponse } from './dispatch.js'
export type { Checked } from './duration.js'
export {
  checkProtoDuration,
  checkTimestamp,
  fromProtoDuration,
  MAX_DURATION_MS,
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  toProtoDuration,
  toTimestamp,
} from './duration.js'
export { ErrorMessage } from './error.js'
export { Exit, Poll, PollResult, RunRequest, RunResponse } from './run.js'
export { RUN_PATH, runUrl } from './runUrl.js'
export { isRetried, RETRIED_STATUSES, STATUS_NAMES, Status, statusOfHttpCode } from './status.js'
export { AnyMessage, Bytes, Duration, Timestamp, Uint64, VALUE_TYPE_URL } from './wellKnown.js'
