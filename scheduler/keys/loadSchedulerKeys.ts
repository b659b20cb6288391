import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { generateSigningKeyPair, parsePrivateKey } from 'dispatch-functions/internal'
import { DispatchError, dspError } from 'dispatch-functions/protocol'
import { readKeyFile, warnOnStderr } from './checkKeyFile.js'
import {
  type GivenKeys,
  givenApiKey,
  givenSigningKey,
  newApiKey,
  type SchedulerKeys,
  schedulerKeys,
} from './givenKeys.js'

export type { SchedulerKeys } from './givenKeys.js'

export interface KeySources extends GivenKeys {
  readonly dbPath: string
  /** Where a warning about a key file other users may read goes; default stderr. */
  readonly warn?: (message: string) => void
}

/**
 * Reads a key file kept beside the database, or creates it with `make()` (mode 0600, created
 * exclusively so two processes starting together end up with the same key). A file that another
 * user owns or may write is refused (DSP3040): it could hold a key someone else chose.
 */
function keptBeside(path: string, make: () => string, warn: (message: string) => void): string {
  const read = () => readKeyFile(path, 'scheduler key file', warn)
  try {
    return read()
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(path, cause)
  }
  // A folder the scheduler creates for its keys is its owner's alone.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const value = make()
  try {
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' })
    return value
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return read()
    throw unreadable(path, cause)
  }
}

// The message names the file, never its content.
function unreadable(path: string, cause: unknown): DispatchError {
  if (cause instanceof DispatchError) return cause
  return dspError('DSP3004', `cannot read or create the scheduler key file ${path}`, {
    hint: 'check the permissions of the database folder, or set DISPATCH_API_KEY and DISPATCH_SIGNING_KEY',
    cause,
  })
}

/**
 * The scheduler's API key and signing key: from the options, else `DISPATCH_API_KEY` /
 * `DISPATCH_SIGNING_KEY`, else files beside the database (`<db>.api-key`, `<db>.signing-key.pem`),
 * generated on first start, so restarts keep them. A `:memory:` database gets new keys in memory.
 */
export function loadSchedulerKeys(sources: KeySources): SchedulerKeys {
  const warn = sources.warn ?? warnOnStderr
  if (sources.dbPath === ':memory:') {
    // A database of this process alone: its keys live as long as it does, in no file.
    const apiKey = givenApiKey(sources) ?? newApiKey()
    const privateKey = givenSigningKey(sources) ?? parsePrivateKey(generateSigningKeyPair().privateKeyPem, 'a new key')
    return schedulerKeys(apiKey, privateKey)
  }
  const db = resolve(sources.dbPath)
  const apiKey = givenApiKey(sources) ?? keptBeside(`${db}.api-key`, newApiKey, warn)
  const privateKey =
    givenSigningKey(sources) ??
    parsePrivateKey(
      keptBeside(`${db}.signing-key.pem`, () => generateSigningKeyPair().privateKeyPem, warn),
      `${db}.signing-key.pem`,
    )
  return schedulerKeys(apiKey, privateKey)
}
