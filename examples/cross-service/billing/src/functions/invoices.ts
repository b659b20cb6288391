import type { Static } from 'typebox'
import { record, remove } from '../ledger.js'
import type { CustomerId, Invoice, InvoiceId, Memo, Money } from '../schemas.js'

/** Charges a customer and returns the invoice. */
export async function charge(customerId: CustomerId, amount: Money, memo?: Static<typeof Memo>): Promise<Invoice> {
  void memo
  const invoiceId = record(customerId, amount.amountCents, amount.currency)
  return { invoiceId, customerId, total: amount }
}

/** Refunds an invoice in full. */
export async function refund(invoiceId: InvoiceId): Promise<void> {
  if (!remove(invoiceId)) throw new Error(`no invoice ${invoiceId}`)
}
