import {
  type Context,
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  trace,
} from '@opentelemetry/api'

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/**
 * The W3C `traceparent` of the span active here (docs/protocol.md §16), or undefined when there is
 * none: without an OpenTelemetry SDK the API is a no-op and nothing is ever active.
 */
export function activeTraceparent(): string | undefined {
  const span = trace.getSpan(context.active())
  return span === undefined ? undefined : traceparentOf(span)
}

/** The W3C `traceparent` naming `span` as the parent, or undefined for an invalid (no-op) span. */
export function traceparentOf(span: Span): string | undefined {
  const c = span.spanContext()
  if (!isSpanContextValid(c)) return undefined
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`
}

/** The span context a `traceparent` names (a remote parent), or undefined when it is not one. */
export function parseTraceparent(traceparent: string | undefined): SpanContext | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent)
  if (match === null) return undefined
  const parsed: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  }
  return isSpanContextValid(parsed) ? parsed : undefined
}

/** A context whose parent is the span a `traceparent` names (the root context without one). */
export function contextOf(traceparent: string | undefined): Context {
  const parent = parseTraceparent(traceparent)
  return parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent)
}
