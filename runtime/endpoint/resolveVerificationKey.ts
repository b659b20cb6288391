import type { KeyObject } from 'node:crypto'
import { codedMessage } from '../../schemas/errors/codedMessage.js'
import { dspError } from '../../schemas/errors/dspError.js'
import { parsePublicKey } from '../signing/parseKey.js'
import type { EndpointOptions } from './endpointOptions.js'

const HOW_TO_FIX =
  "set DISPATCH_VERIFICATION_KEY to the scheduler's public key (`dispatch run` does; the scheduler prints it as verificationKeyPem), or pass verificationKey: false to accept unsigned requests (tests, trusted networks only)"

/**
 * The public key requests must be signed with, or undefined when verification was turned off with
 * `false`. No key at all, or an empty variable, is DSP2208: an endpoint never runs unsigned
 * requests unless told to.
 */
export function resolveVerificationKey(option: EndpointOptions['verificationKey']): KeyObject | undefined {
  if (option === false) return undefined
  if (option !== undefined && typeof option !== 'string') return option
  if (option !== undefined) {
    if (option.trim() === '') throw dspError('DSP2208', 'the verificationKey option is empty', { hint: HOW_TO_FIX })
    return parsePublicKey(option, 'the verificationKey option')
  }
  const text = process.env['DISPATCH_VERIFICATION_KEY']
  if (text === undefined) {
    throw dspError(
      'DSP2208',
      'dispatchPlugin has no verification key: neither the verificationKey option nor DISPATCH_VERIFICATION_KEY is set, and unsigned requests are refused',
      { hint: HOW_TO_FIX },
    )
  }
  if (text.trim() === '') {
    throw dspError('DSP2208', 'DISPATCH_VERIFICATION_KEY is set but empty', { hint: HOW_TO_FIX })
  }
  return parsePublicKey(text, 'DISPATCH_VERIFICATION_KEY')
}

let warned = false

/** Says on stderr, once per process and whatever the logger, that an endpoint runs unsigned requests. */
export function warnVerificationOff(): void {
  if (warned) return
  warned = true
  process.stderr.write(
    `dispatch: ${codedMessage('DSP2240', 'request verification is off (verificationKey: false): anyone who can reach this endpoint can run its functions; use it only in tests or where nothing but the scheduler can reach the application')}\n`,
  )
}
