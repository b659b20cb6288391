/** Why a request was refused, as the Connect error the endpoint answers with. */
export interface VerificationFailure {
  readonly ok: false
  readonly httpStatus: 401 | 403
  readonly code: 'unauthenticated' | 'permission_denied'
  readonly message: string
}

export type VerificationResult = { readonly ok: true } | VerificationFailure

export const OK: VerificationResult = Object.freeze({ ok: true })

// docs/protocol.md §14.2: a missing signature, an unknown key or incomplete coverage is "who are you?" (401);
// everything else is "you are not allowed to send this" (403).
export function unauthenticated(message: string): VerificationFailure {
  return { ok: false, httpStatus: 401, code: 'unauthenticated', message }
}
export function denied(message: string): VerificationFailure {
  return { ok: false, httpStatus: 403, code: 'permission_denied', message }
}
