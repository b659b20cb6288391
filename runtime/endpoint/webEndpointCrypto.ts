import { base64OfBytes } from '../portable/base64.js'
import { verifyRequestWeb } from '../signing/verifyRequestWeb.js'
import { importWebPublicKey, publicKeyBytes, type WebCryptoKey } from '../signing/webPublicKey.js'
import type { EndpointCrypto } from './endpointCrypto.js'

// A Node KeyObject given on Node (`{ export(...) }`): its SPKI bytes, read without importing node:crypto.
interface ExportableKey {
  export(options: { format: 'der'; type: 'spki' }): Uint8Array
}

function isExportable(given: object): given is ExportableKey {
  return typeof (given as Partial<ExportableKey>).export === 'function'
}

// The key is imported once, at the first request that needs it (Web Crypto imports asynchronously);
// a runtime without Ed25519 in Web Crypto fails that request with a 500 whose cause goes to the log.
function imported(raw: Uint8Array): Promise<WebCryptoKey> {
  const key = importWebPublicKey(raw)
  key.catch(() => {})
  return key
}

/** Web Crypto (`crypto.subtle`): SHA digests and Ed25519 on any runtime that has them. */
export const webEndpointCrypto: EndpointCrypto<Promise<WebCryptoKey>> = {
  parseKey: (text, where) => imported(publicKeyBytes(text, where)),
  adoptKey: (given) => {
    if (isExportable(given)) {
      const der = new Uint8Array(given.export({ format: 'der', type: 'spki' }))
      return imported(
        publicKeyBytes(
          `-----BEGIN PUBLIC KEY-----${base64OfBytes(der)}-----END PUBLIC KEY-----`,
          'the verificationKey option',
        ),
      )
    }
    return Promise.resolve(given as WebCryptoKey)
  },
  verifier: (publicKey) => (request) => verifyRequestWeb({ ...request, publicKey }),
}
