import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DispatchError, generateSigningKeyPair, parsePrivateKey } from 'dispatch-functions/internal'

export interface SchedulerKeys {
  readonly apiKey: string
  readonly privateKey: KeyObject
  /** PEM SPKI: what endpoints verify with (`DISPATCH_VERIFICATION_KEY`). */
  readonly verificationKeyPem: string
}

export interface KeySources {
  readonly dbPath: string
  readonly apiKey?: string | undefined
  readonly signingKey?: string | undefined
  readonly env?: NodeJS.ProcessEnv
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value

/**
 * Reads a key file kept beside the database, or creates it with `make()` (mode 0600, created
 * exclusively so two processes starting together end up with the same key).
 */
function keptBeside(path: string, make: () => string): string {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(path, cause)
  }
  mkdirSync(dirname(path), { recursive: true })
  const value = make()
  try {
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' })
    return value
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim()
    throw unreadable(path, cause)
  }
}

// The message names the file, never its content.
function unreadable(path: string, cause: unknown): DispatchError {
  return new DispatchError('DSP3004', `cannot read or create the scheduler key file ${path}`, {
    hint: 'check the permissions of the database folder, or set DISPATCH_API_KEY and DISPATCH_SIGNING_KEY',
    cause,
  })
}

/**
 * The scheduler's API key and signing key: from the options, else `DISPATCH_API_KEY` /
 * `DISPATCH_SIGNING_KEY`, else files beside the database (`<db>.api-key`, `<db>.signing-key.pem`),
 * generated on first start, so restarts keep them.
 */
export function loadSchedulerKeys(sources: KeySources): SchedulerKeys {
  const env = sources.env ?? process.env
  const db = resolve(sources.dbPath)
  const apiKey =
    nonEmpty(sources.apiKey) ??
    nonEmpty(env['DISPATCH_API_KEY']) ??
    keptBeside(`${db}.api-key`, () => `dsp_${randomBytes(32).toString('base64url')}`)
  const fromOption = nonEmpty(sources.signingKey)
  const fromEnv = nonEmpty(env['DISPATCH_SIGNING_KEY'])
  const privateKey =
    fromOption !== undefined
      ? parsePrivateKey(fromOption, 'the signingKey option')
      : fromEnv !== undefined
        ? parsePrivateKey(fromEnv, 'DISPATCH_SIGNING_KEY')
        : parsePrivateKey(
            keptBeside(`${db}.signing-key.pem`, () => generateSigningKeyPair().privateKeyPem),
            `${db}.signing-key.pem`,
          )
  const verificationKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString()
  return { apiKey, privateKey, verificationKeyPem }
}
