/**
 * The orders service dispatches to billing through billing's generated client. It imports
 * `@example/billing/client` only: types of billing's schemas, no billing code or dependencies.
 */
import { createDispatchClient, type DispatchFunctions } from '@example/billing/client'
import type { ClientOptions } from 'dispatch-functions'

type Invoice = DispatchFunctions['charge']['output']

/** Billing's functions, called at billing's endpoint (the scheduler POSTs there, not here). */
export function billingClient(options: ClientOptions = {}) {
  return createDispatchClient({ endpoint: process.env['BILLING_ENDPOINT_URL'] ?? 'http://127.0.0.1:8001', ...options })
}

/** Dispatches the charge of an order; resolves to the dispatch id once the scheduler has it. */
export async function checkout(customerId: string, amountCents: number, options: ClientOptions = {}): Promise<string> {
  const billing = billingClient(options)
  return billing.charge(`cus_${customerId}`, { amountCents, currency: 'EUR' }, 'order checkout', {
    idempotencyKey: `checkout-${customerId}-${amountCents}`,
  })
}

/** Charges and waits for the invoice (a durable call when run inside a dispatch function). */
export async function checkoutAndWait(customerId: string, amountCents: number): Promise<Invoice> {
  return billingClient().charge.call(`cus_${customerId}`, { amountCents, currency: 'USD' })
}
