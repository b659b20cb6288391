import { readFileSync } from 'node:fs'

/** The signing test vectors (docs/protocol.md §15): the RFC 9421 test key and a Dispatch-style signed request. */
export interface SigningVectors {
  key: { public_raw_base64: string; private_seed_hex: string; public_pem: string; private_pem: string }
  content_digest: { body: string; 'sha-512': string; 'sha-256': string }
  dispatch_style_request: {
    method: string
    url: string
    body_hex: string
    created: number
    headers: Record<string, string>
    signature_base: string
  }
}

// The test vectors of docs/protocol.md §15, as data in the repository.
export const vectors: SigningVectors = JSON.parse(
  readFileSync(new URL('../../fixtures/vectors/signing.json', import.meta.url), 'utf8'),
)
