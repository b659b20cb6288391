/**
 * The Dispatch endpoint as a Next.js App Router route handler: this catch-all route answers the
 * scheduler's POST to `/dispatch.sdk.v1.FunctionService/Run` with the fetch-standard handler.
 * Under `dispatch run`, DISPATCH_VERIFICATION_KEY and DISPATCH_ENDPOINT_URL come from the
 * environment; the handler is made at the first request, because `next build` loads this module
 * without them.
 */
import { createFetchHandler } from 'dispatch-functions/fetch'
import { routes } from '../../src/dispatch.gen/routes.gen.js'

let handler: ((request: Request) => Promise<Response>) | undefined

export async function POST(request: Request): Promise<Response> {
  handler ??= createFetchHandler({ routes })
  return handler(request)
}

// Every request runs a function: never prerendered or cached.
export const dynamic = 'force-dynamic'
