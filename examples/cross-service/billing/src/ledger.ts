/**
 * Billing's own storage: the implementation's dependency that no client may pull in. Loading it
 * sets a global flag, so a test can tell whether importing the client loaded billing's code.
 */
;(globalThis as { billingLedgerLoaded?: boolean }).billingLedgerLoaded = true

const invoices = new Map<string, { customerId: string; amountCents: number; currency: 'EUR' | 'USD' }>()
let next = 1

export function record(customerId: string, amountCents: number, currency: 'EUR' | 'USD'): string {
  const invoiceId = `inv_${next++}`
  invoices.set(invoiceId, { customerId, amountCents, currency })
  return invoiceId
}

export function remove(invoiceId: string): boolean {
  return invoices.delete(invoiceId)
}
