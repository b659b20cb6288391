import type { KeyObject } from 'node:crypto'
import { parsePublicKey } from '../signing/parseKey.js'
import { verifyRequest, verifyRequestAsync } from '../signing/verifyRequest.js'
import type { EndpointCrypto } from './endpointCrypto.js'

/** Node's crypto: KeyObjects, Ed25519 on the event loop or (off-thread) on libuv's pool. */
export const nodeEndpointCrypto: EndpointCrypto<KeyObject> = {
  parseKey: parsePublicKey,
  adoptKey: (given) => given as KeyObject,
  verifier: (publicKey, offThread) =>
    offThread
      ? (request) => verifyRequestAsync({ ...request, publicKey })
      : (request) => verifyRequest({ ...request, publicKey }),
}
