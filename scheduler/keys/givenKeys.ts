import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto'
import { parsePrivateKey } from 'dispatch-functions/internal'

/**
 * The keys the options or the environment set, which win over kept ones wherever the scheduler keeps
 * its keys (files beside the database, or a shared store's settings).
 */

export interface SchedulerKeys {
  readonly apiKey: string
  readonly privateKey: KeyObject
  /** PEM SPKI: what endpoints verify with (`DISPATCH_VERIFICATION_KEY`). */
  readonly verificationKeyPem: string
}

/** What sets the keys before any kept one: the options, then the environment. */
export interface GivenKeys {
  readonly apiKey?: string | undefined
  readonly signingKey?: string | undefined
  readonly env?: NodeJS.ProcessEnv
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value

/** The API key the `apiKey` option or `DISPATCH_API_KEY` sets, if any. */
export function givenApiKey(given: GivenKeys): string | undefined {
  return nonEmpty(given.apiKey) ?? nonEmpty((given.env ?? process.env)['DISPATCH_API_KEY'])
}

/** The signing key the `signingKey` option or `DISPATCH_SIGNING_KEY` sets, if any, parsed. */
export function givenSigningKey(given: GivenKeys): KeyObject | undefined {
  const fromOption = nonEmpty(given.signingKey)
  if (fromOption !== undefined) return parsePrivateKey(fromOption, 'the signingKey option')
  const fromEnv = nonEmpty((given.env ?? process.env)['DISPATCH_SIGNING_KEY'])
  return fromEnv === undefined ? undefined : parsePrivateKey(fromEnv, 'DISPATCH_SIGNING_KEY')
}

/** A new API key, for an installation that has none yet. */
export const newApiKey = (): string => `dsp_${randomBytes(32).toString('base64url')}`

/** The keys, with the verification key derived from the signing key. */
export function schedulerKeys(apiKey: string, privateKey: KeyObject): SchedulerKeys {
  const verificationKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString()
  return { apiKey, privateKey, verificationKeyPem }
}
