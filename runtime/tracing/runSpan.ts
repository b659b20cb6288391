import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { RunRequest } from '../../schemas/run.js'
import { contextOf } from './traceContext.js'

/** The instrumentation scope of the runtime's spans. */
export const TRACER_NAME = 'dispatch-functions'

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
 * context in turn. Without an OpenTelemetry SDK the tracer is a no-op and this only calls `run`.
 */
export async function withRunSpan<A extends Answer>(request: RunRequest, run: () => Promise<A>): Promise<A> {
  const tracer = trace.getTracer(TRACER_NAME)
  const span = tracer.startSpan(
    `run ${request.function}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'rpc.system': 'dispatch',
        'rpc.method': request.function,
        'dispatch.function': request.function,
        ...(request.dispatchId !== undefined ? { 'dispatch.id': request.dispatchId } : {}),
        ...(request.parentDispatchId !== undefined ? { 'dispatch.parent_id': request.parentDispatchId } : {}),
        ...(request.rootDispatchId !== undefined ? { 'dispatch.root_id': request.rootDispatchId } : {}),
        'dispatch.resumed': request.pollResult !== undefined,
      },
    },
    contextOf(request.traceparent),
  )
  try {
    const answer = await context.with(trace.setSpan(context.active(), span), run)
    if (!span.isRecording()) return answer
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
