import { codedMessage } from '../../schemas/errors/codedMessage.js'
import { dspError } from '../../schemas/errors/dspError.js'
import { environmentVariable, writeToOperator } from '../portable/environment.js'
import type { EndpointCrypto } from './endpointCrypto.js'

const HOW_TO_FIX =
  "set DISPATCH_VERIFICATION_KEY to the scheduler's public key (`dispatch run` does; the scheduler prints it as verificationKeyPem), or pass verificationKey: false to accept unsigned requests (tests, trusted networks only)"

/**
 * The public key requests must be signed with, or undefined when verification was turned off with
 * `false`. No key at all, or an empty variable, is DSP2208: an endpoint never runs unsigned
 * requests unless told to.
 */
export function resolveVerificationKey<Key>(
  option: string | object | false | undefined,
  crypto: EndpointCrypto<Key>,
  framework = 'dispatchPlugin',
): Key | undefined {
  if (option === false) return undefined
  if (option !== undefined && typeof option !== 'string') return crypto.adoptKey(option)
  if (option !== undefined) {
    if (option.trim() === '') throw dspError('DSP2208', 'the verificationKey option is empty', { hint: HOW_TO_FIX })
    return crypto.parseKey(option, 'the verificationKey option')
  }
  const text = environmentVariable('DISPATCH_VERIFICATION_KEY')
  if (text === undefined) {
    throw dspError(
      'DSP2208',
      `${framework} has no verification key: neither the verificationKey option nor DISPATCH_VERIFICATION_KEY is set, and unsigned requests are refused`,
      { hint: HOW_TO_FIX },
    )
  }
  if (text.trim() === '') {
    throw dspError('DSP2208', 'DISPATCH_VERIFICATION_KEY is set but empty', { hint: HOW_TO_FIX })
  }
  return crypto.parseKey(text, 'DISPATCH_VERIFICATION_KEY')
}

let warned = false

/** Says on stderr, once per process and whatever the logger, that an endpoint runs unsigned requests. */
export function warnVerificationOff(): void {
  if (warned) return
  warned = true
  writeToOperator(
    `dispatch: ${codedMessage('DSP2240', 'request verification is off (verificationKey: false): anyone who can reach this endpoint can run its functions; use it only in tests or where nothing but the scheduler can reach the application')}\n`,
  )
}
