import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { RunRequest } from '../../schemas/run.js'
import { contextOf } from './traceContext.js'

/** The instrumentation scope of the runtime's spans. */
export const TRACER_NAME = 'dispatch-functions'

/**
 * The runtime's tracer: a proxy that finds the SDK's tracer once one is registered (before that,
 * every span is a no-op), so it is looked up once, not per run.
 */
export const tracer = trace.getTracer(TRACER_NAME)

/** What the run span needs of the answer: its HTTP status code and body (a RunResponse or a Connect error). */
interface Answer {
  readonly statusCode: number
  readonly body: string
}

const STATUS = /^\{"status":"(STATUS_[A-Z_]+)"/

/**
 * Runs one attempt of `request` inside a `run <function>` span (kind SERVER), the child of the
 * span its `traceparent` names: a call dispatched inside a span continues that trace, and calls the
 * function makes while it runs (dispatches, a coroutine's children, a tail call) carry this span's
 * context in turn. Without an OpenTelemetry SDK the span is a no-op and this costs a few hundred
 * nanoseconds.
 */
export function withRunSpan<A extends Answer>(request: RunRequest, run: () => Promise<A>): Promise<A> {
  const span = tracer.startSpan(`run ${request.function}`, SERVER, contextOf(request.traceparent))
  if (!span.isRecording()) {
    // Nothing recorded here; the context still travels on to what the function calls, if any. No
    // promise of its own either: the run's is handed back as it is.
    return request.traceparent === undefined ? run() : context.with(trace.setSpan(context.active(), span), run)
  }
  return recorded(request, span, run)
}

const SERVER = { kind: SpanKind.SERVER }

async function recorded<A extends Answer>(request: RunRequest, span: Span, run: () => Promise<A>): Promise<A> {
  span.setAttributes({
    'rpc.system': 'dispatch',
    'rpc.method': request.function,
    'dispatch.function': request.function,
    'dispatch.resumed': request.pollResult !== undefined,
  })
  if (request.dispatchId !== undefined) span.setAttribute('dispatch.id', request.dispatchId)
  if (request.parentDispatchId !== undefined) span.setAttribute('dispatch.parent_id', request.parentDispatchId)
  if (request.rootDispatchId !== undefined) span.setAttribute('dispatch.root_id', request.rootDispatchId)
  try {
    const answer = await context.with(trace.setSpan(context.active(), span), run)
    const status = STATUS.exec(answer.body.slice(0, 64))?.[1]
    if (status !== undefined) span.setAttribute('dispatch.status', status)
    if (answer.statusCode >= 400 || (status !== undefined && status !== 'STATUS_OK')) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: status ?? `HTTP ${answer.statusCode}` })
    }
    return answer
  } catch (error) {
    span.recordException(error as Error)
    span.setStatus({ code: SpanStatusCode.ERROR })
    throw error
  } finally {
    span.end()
  }
}
