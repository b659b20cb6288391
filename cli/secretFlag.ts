import { readKeyFile } from '../scheduler/internal.js'
import { UsageError } from './usageError.js'

/** How a secret reached the command: a flag (seen by `ps`), a file, or its environment variable. */
export interface SecretSource {
  /** The flag that takes the value itself, e.g. `--api-key`. */
  readonly flag: string
  /** The flag that takes a file holding the value, e.g. `--api-key-file`. */
  readonly fileFlag: string
  /** The environment variable read when neither flag is given, e.g. `DISPATCH_API_KEY`. */
  readonly envVar: string
}

/**
 * The secret of `source` from its flag, its file flag, or undefined (the caller then reads the
 * environment variable). A value given on the command line is used, with a warning on stderr: every
 * user of the machine sees it in `ps` and `/proc/<pid>/cmdline`. A file is refused when another user
 * owns it or may write it (DSP3040), and must hold a value (DSP4010).
 */
export function secretFromFlags(
  source: SecretSource,
  value: string | undefined,
  file: string | undefined,
  isSecret: (value: string) => boolean = () => true,
): string | undefined {
  if (value !== undefined && file !== undefined) {
    throw new UsageError(
      'DSP4011',
      `${source.flag} and ${source.fileFlag} were both given`,
      `give one: ${source.fileFlag} PATH, or set ${source.envVar}`,
    )
  }
  if (value !== undefined) {
    if (isSecret(value)) {
      process.stderr.write(
        `dispatch: warning: ${source.flag} puts a secret on the command line, where other users of this machine see it (ps); set ${source.envVar} or use ${source.fileFlag} PATH instead\n`,
      )
    }
    return value
  }
  if (file === undefined) return undefined
  let text: string
  try {
    text = readKeyFile(file, `${source.fileFlag} file`)
  } catch (error) {
    if ((error as { code?: string }).code === 'DSP3040') throw error
    throw new UsageError(
      'DSP4010',
      `cannot read ${source.fileFlag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      `give a file this user can read, holding the value (or set ${source.envVar})`,
    )
  }
  if (text === '') {
    throw new UsageError(
      'DSP4010',
      `${source.fileFlag} ${file} is empty`,
      `write the value into it (or set ${source.envVar})`,
    )
  }
  return text
}
