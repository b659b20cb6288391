import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { tracer } from './runSpan.js'

/**
 * Runs a Dispatch request inside a `dispatch <function>` span (kind PRODUCER), active while the
 * calls are encoded, so each carries its `traceparent` (docs/protocol.md §16): their runs become its
 * children, in the trace of whatever span was active when the application dispatched. Without an
 * OpenTelemetry SDK the tracer is a no-op and this only calls `send`.
 */
export function withDispatchSpan(functions: readonly string[], send: () => Promise<string[]>): Promise<string[]> {
  const distinct = [...new Set(functions)]
  const name = distinct.length === 1 ? `dispatch ${distinct[0]}` : 'dispatch'
  return tracer.startActiveSpan(
    name,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'dispatch',
        'messaging.operation.type': 'send',
        'messaging.batch.message_count': functions.length,
        ...(distinct.length === 1 ? { 'dispatch.function': distinct[0] } : {}),
      },
    },
    async (span) => {
      try {
        const ids = await send()
        if (ids.length === 1 && span.isRecording()) span.setAttribute('dispatch.id', ids[0]!)
        return ids
      } catch (error) {
        span.recordException(error as Error)
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message })
        throw error
      } finally {
        span.end()
      }
    },
  )
}
