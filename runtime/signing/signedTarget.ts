/** What a signature says about where a request goes: its `@authority` and `@path` components. */
export interface SignedTarget {
  /** Lower-case host[:port], without a default port (as `URL.host` gives it). */
  readonly authority: string
  /** The path without the query, percent-encoded as `URL.pathname` gives it. */
  readonly path: string
}

/**
 * The `@authority` and `@path` of a request to `url`, exactly as the signer puts them in the
 * signature base: the endpoint derives the same two values from its own URL, so both sides agree
 * byte for byte.
 */
export function signedTarget(url: string | URL): SignedTarget {
  const parsed = typeof url === 'string' ? new URL(url) : url
  return { authority: parsed.host.toLowerCase(), path: parsed.pathname }
}
