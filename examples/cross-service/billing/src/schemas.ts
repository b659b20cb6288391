import { type Static, Type } from 'typebox'

export const CustomerId = Type.String({ pattern: '^cus_[a-z0-9]+$' })
export type CustomerId = Static<typeof CustomerId>

export const Money = Type.Object({
  amountCents: Type.Integer({ minimum: 1 }),
  currency: Type.Union([Type.Literal('EUR'), Type.Literal('USD')]),
})
export type Money = Static<typeof Money>

export const Memo = Type.String({ maxLength: 200 })

export const Invoice = Type.Object({ invoiceId: Type.String(), customerId: CustomerId, total: Money })
export type Invoice = Static<typeof Invoice>

export const InvoiceId = Type.String()
export type InvoiceId = Static<typeof InvoiceId>
