/**
 * @module
 * TypeBox schemas of the `dispatch.sdk.v1` wire protocol (proto3 JSON mapping, docs/protocol.md) — the one place
 * message shapes are defined. Every message crossing a process boundary is validated against these.
 * Beside them, the error catalog (every `DSPnnnn` code, docs/errors.md) and the error base class
 * `DispatchError`, which every part of dispatch-functions raises its errors with.
 *
 * @example
 * ```ts
 * import { RunRequest } from '../schemas/index.js'
 * ```
 */
export {
  BATCH_CONTENT_TYPE,
  BATCH_HEADER,
  BATCH_STREAM_CONTENT_TYPE,
  BatchAnswerLine,
  BatchRequest,
  batchAnswerLine,
  MAX_BATCH_CALLS,
} from './batch.js'
export { Call, CallResult, EndpointUrl, FUNCTION_NAME_PATTERN, FunctionName } from './call.js'
export {
  AttemptInfo,
  BulkCallsRequest,
  BulkCallsResponse,
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
  SIGNAL_TYPE_URL,
  SignalCallRequest,
  TERMINAL_STATES,
  WaitCallRequest,
  WaitCallResponse,
} from './callService.js'
export type { Codec } from './codec/contentTypes.js'
export { codecOfContentType, contentTypeOf, JSON_CONTENT_TYPE, PROTO_CONTENT_TYPE } from './codec/contentTypes.js'
export { decodeProto, encodeProto, ProtoCodecError } from './codec/protoCodec.js'
export {
  CallProto,
  CallResultProto,
  DispatchCallProto,
  DispatchRequestProto,
  DispatchResponseProto,
  ErrorProto,
  ExitProto,
  PollProto,
  PollResultProto,
  RunRequestProto,
  RunResponseProto,
} from './codec/protoMessages.js'
export { OPAQUE_BYTES_KEY } from './codec/wellKnownTypes.js'
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
export { codedMessage } from './errors/codedMessage.js'
export type { DispatchErrorOptions } from './errors/dispatchError.js'
export { DispatchError } from './errors/dispatchError.js'
export { dspError } from './errors/dspError.js'
export type { ConnectCode, DspCode, DspPart, ErrorCatalogEntry } from './errors/errorCatalog.js'
export { ERROR_CATALOG } from './errors/errorCatalog.js'
export {
  FlowOptions,
  MAX_DEBOUNCE_MS,
  MAX_FLOW_KEY_LENGTH,
  MAX_KEY_CONCURRENCY,
  MAX_PRIORITY,
  MAX_RATE_LIMIT,
  MAX_RATE_PERIOD_MS,
  MIN_DEBOUNCE_MS,
  MIN_PRIORITY,
  MIN_RATE_PERIOD_MS,
  Priority,
} from './flow.js'
export { Exit, MAX_POLL_CALLS, Poll, PollResult, RunRequest, RunResponse } from './run.js'
export { RUN_PATH, runUrl } from './runUrl.js'
/** Schedules: the bounds of a `@schedule` and the ScheduleService (docs/flow-control.md). */
export {
  DEFAULT_SCHEDULE_CATCH_UP,
  ListSchedulesRequest,
  ListSchedulesResponse,
  MAX_SCHEDULE_CATCH_UP,
  SCHEDULE_NAME_PATTERN,
  SCHEDULE_SERVICE_PATH,
  ScheduleInfo,
  ScheduleRequest,
  ScheduleResponse,
} from './scheduleService.js'
export { isRetried, RETRIED_STATUSES, STATUS_NAMES, Status, statusOfHttpCode } from './status.js'
/** W3C trace context on calls and RunRequests (docs/protocol.md §16). */
export { TRACEPARENT_PATTERN, Traceparent } from './traceparent.js'
export { AnyMessage, Bytes, Duration, Timestamp, Uint64, VALUE_TYPE_URL } from './wellKnown.js'
