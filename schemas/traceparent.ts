import { Type } from 'typebox'

/**
 * A W3C Trace Context `traceparent` (version 00): `00-<trace id>-<parent span id>-<flags>`, lowercase
 * hex (docs/protocol.md §16). It travels with a call from its dispatch to each of its attempts.
 */
export const TRACEPARENT_PATTERN = '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
export const Traceparent = Type.String({ pattern: TRACEPARENT_PATTERN, maxLength: 55 })
