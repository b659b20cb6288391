import type { DispatchError } from '../../schemas/errors/dispatchError.js'
import { dspError } from '../../schemas/errors/dspError.js'

// The message names the variable and the accepted forms, and never includes the value: it is a secret
// (or, for public keys, still configuration that does not belong in logs).
export function badKey(variableName: string, kind: 'public' | 'private', reason: string): DispatchError {
  const code = kind === 'public' ? 'DSP2201' : 'DSP2202'
  const forms =
    kind === 'public'
      ? 'a PEM SPKI Ed25519 public key (a literal \\n stands for a newline) or standard base64 of the raw 32-byte key'
      : 'a PEM PKCS#8 Ed25519 private key (a literal \\n stands for a newline) or standard base64 of the 32-byte seed'
  return dspError(code, `${variableName} is not a usable Ed25519 ${kind} key: ${reason}`, {
    hint: `set ${variableName} to ${forms}`,
  })
}
