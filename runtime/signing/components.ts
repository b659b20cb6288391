/** The components every Dispatch signature covers, in the order Dispatch signers list them (docs/protocol.md §14.1). */
export const REQUIRED_COMPONENTS = ['@method', '@path', '@authority', 'content-type', 'content-digest'] as const

/** The label of the signature in `Signature-Input`/`Signature`. */
export const SIGNATURE_LABEL = 'dispatch'

/** The one key id the endpoint knows. */
export const KEY_ID = 'default'

/** How far ahead of the verifier's clock `created` may be, in seconds. */
export const MAX_CLOCK_SKEW_S = 5

/** How old `created` may be, in seconds (5 minutes plus the clock skew). */
export const MAX_AGE_S = 300 + MAX_CLOCK_SKEW_S
