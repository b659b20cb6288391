import { generateKeyPairSync } from 'node:crypto'

/** An Ed25519 key pair in PEM: PKCS#8 for `DISPATCH_SIGNING_KEY`, SPKI for `DISPATCH_VERIFICATION_KEY`. */
export interface SigningKeyPair {
  readonly privateKeyPem: string
  readonly publicKeyPem: string
}

/**
 * Generates a fresh Ed25519 key pair for the scheduler (private) and the endpoint (public).
 *
 * @example
 * ```ts
 * const { privateKeyPem, publicKeyPem } = generateSigningKeyPair()
 * ```
 */
export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  }
}
