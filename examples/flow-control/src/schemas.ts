import { type Static, Type } from 'typebox'

/** One edit of a user's profile, numbered in the order the user made them. */
export const Edit = Type.Object({ userId: Type.String(), n: Type.Integer({ minimum: 1 }) })
export type Edit = Static<typeof Edit>

/** A job that syncs one bank account. */
export const SyncJob = Type.Object({ accountId: Type.String(), n: Type.Integer({ minimum: 1 }) })
export type SyncJob = Static<typeof SyncJob>

/** A request to an LLM provider, on behalf of one customer. */
export const SummaryRequest = Type.Object({ customerId: Type.String(), n: Type.Integer({ minimum: 1 }) })
export type SummaryRequest = Static<typeof SummaryRequest>

/** The name of a report to render. */
export const ReportName = Type.String({ minLength: 1 })
export type ReportName = Static<typeof ReportName>

/** The provider's answer. */
export const Summary = Type.String()
export type Summary = Static<typeof Summary>
