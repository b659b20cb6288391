import { type Static, Type } from 'typebox'

/** Where to publish: an http(s) URL. */
export const Url = Type.String({ pattern: '^https?://' })
export type Url = Static<typeof Url>

/** What to publish: a numbered message. */
export const Payload = Type.Object({ n: Type.Integer({ minimum: 0 }), message: Type.String() })
export type Payload = Static<typeof Payload>
