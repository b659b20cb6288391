import { type Static, Type } from 'typebox'

/** Someone to greet. */
export const Name = Type.String({ minLength: 1 })
export type Name = Static<typeof Name>

/** Several people to greet. */
export const Names = Type.Array(Name, { maxItems: 100 })
export type Names = Static<typeof Names>

/** A greeting. */
export const Greeting = Type.String()
export type Greeting = Static<typeof Greeting>

/** Greetings, one per name. */
export const Greetings = Type.Array(Greeting)
export type Greetings = Static<typeof Greetings>
