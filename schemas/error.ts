import { type Static, Type } from 'typebox'
import { Bytes } from './wellKnown.js'

/** `dispatch.sdk.v1.Error`: what a failed call reports. */
export const ErrorMessage = Type.Object({
  type: Type.String(),
  message: Type.String(),
  value: Type.Optional(Bytes),
  traceback: Type.Optional(Bytes),
})
export type ErrorMessage = Static<typeof ErrorMessage>
