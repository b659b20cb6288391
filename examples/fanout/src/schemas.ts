import { type Static, Type } from 'typebox'

export const UserId = Type.String({ pattern: '^u[0-9]+$' })
export type UserId = Static<typeof UserId>

export const UserIds = Type.Array(UserId, { maxItems: 10_000 })
export type UserIds = Static<typeof UserIds>

export const User = Type.Object({ id: UserId, name: Type.String(), email: Type.String() })
export type User = Static<typeof User>

export const Route = Type.Union([Type.Literal('sms'), Type.Literal('email')])
export type Route = Static<typeof Route>

export const Summary = Type.Object({
  sent: Type.Integer(),
  first: Route,
  charged: Type.Boolean(),
  chargeError: Type.Optional(Type.String()),
})
export type Summary = Static<typeof Summary>

export const FollowUp = Type.String()
export type FollowUp = Static<typeof FollowUp>

export const Approval = Type.String()
export type Approval = Static<typeof Approval>
