import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { contextOf, traceparentOf } from 'dispatch-functions/internal'
import type { Completion, StoredCall } from '../store/store.js'

/** The instrumentation scope of the scheduler's spans. */
export const SCHEDULER_TRACER = 'dispatch-functions-tools/scheduler'

/** One attempt's span, ended with its outcome. */
export interface AttemptSpan {
  /** The `traceparent` the RunRequest carries: this span, or the call's own when the tracer is a no-op. */
  readonly traceparent: string | undefined
  end(status: string | undefined, outcome: Completion['kind'] | 'abandoned'): void
}

const NOT_TRACED: AttemptSpan = { traceparent: undefined, end: () => undefined }

/**
 * Starts the span of one attempt (kind CLIENT) of a traced call, the child of the span the call
 * was dispatched in (its stored `traceparent`): from sending the RunRequest to the outcome, with how long the call was
 * queued before its first attempt. The endpoint's run span becomes its child. Without an
 * OpenTelemetry SDK in the scheduler's process the tracer is a no-op, and the RunRequest carries
 * the call's own trace context unchanged.
 */
export function startAttemptSpan(call: StoredCall, now: number): AttemptSpan {
  // A call dispatched outside any trace starts none here: every attempt would be a trace of its own.
  if (call.traceparent === undefined) return NOT_TRACED
  const span = trace
    .getTracer(SCHEDULER_TRACER)
    .startSpan(`attempt ${call.function}`, { kind: SpanKind.CLIENT }, contextOf(call.traceparent))
  const recording = span.isRecording()
  if (recording) {
    span.setAttributes({
      'rpc.system': 'dispatch',
      'rpc.method': call.function,
      'url.full': call.endpoint,
      'dispatch.function': call.function,
      'dispatch.id': call.dispatchId,
      'dispatch.attempt': call.attempts,
      'dispatch.resumed': call.poll !== undefined,
      ...(call.attempts === 1 && call.poll === undefined
        ? { 'dispatch.queued_ms': Math.max(0, now - call.createdAt) }
        : {}),
    })
  }
  return {
    traceparent: traceparentOf(span) ?? call.traceparent,
    end(status, outcome) {
      if (recording) {
        if (status !== undefined) span.setAttribute('dispatch.status', status)
        span.setAttribute('dispatch.outcome', outcome)
        if (status !== 'STATUS_OK') span.setStatus({ code: SpanStatusCode.ERROR, message: status ?? outcome })
      }
      span.end()
    },
  }
}
