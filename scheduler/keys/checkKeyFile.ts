import { closeSync, fstatSync, openSync, readFileSync, type Stats } from 'node:fs'
import { dspError } from 'dispatch-functions/protocol'

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0')

/** Writes a warning about a secret to stderr (whatever logger the application has). */
export const warnOnStderr = (message: string): void => {
  process.stderr.write(`dispatch: warning: ${message}\n`)
}

/**
 * Throws DSP3040 when a file holding a secret could be replaced by another user: writable by its
 * group or by others, or owned by someone other than this user or root. As ssh does with keys, such
 * a file is refused rather than used; the message names the file and its mode or owner, never its
 * content, and the hint is the command that fixes it. A file other users may only read is used, with
 * a warning (mounted secrets, such as Kubernetes' and Docker's, are often 0644 or 0444 and root's).
 */
export function checkKeyFileStats(path: string, stats: Stats, what: string, warn = warnOnStderr): void {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined
  if (uid === undefined) return // no POSIX owners or modes (Windows): nothing to check
  if (stats.uid !== uid && stats.uid !== 0) {
    throw dspError(
      'DSP3040',
      `the ${what} ${path} is owned by uid ${stats.uid}, not by this user (uid ${uid}) or root; it is not used`,
      { hint: `make it yours: chown ${uid} ${path}, and check that nobody replaced the key` },
    )
  }
  if ((stats.mode & 0o022) !== 0) {
    throw dspError(
      'DSP3040',
      `the ${what} ${path} has mode ${octal(stats.mode)}: other users may replace it; it is not used`,
      { hint: `keep it to its owner: chmod 600 ${path}, and check that nobody replaced the key` },
    )
  }
  if ((stats.mode & 0o044) !== 0) {
    warn(`the ${what} ${path} has mode ${octal(stats.mode)}: other users may read it; run chmod 600 ${path}`)
  }
}

/**
 * Reads a secret from `path` after {@link checkKeyFileStats} on the same open file (so the file
 * checked is the file read). Errors other than DSP3040 come from the file system (ENOENT, EACCES).
 */
export function readKeyFile(path: string, what: string, warn = warnOnStderr): string {
  const fd = openSync(path, 'r')
  try {
    checkKeyFileStats(path, fstatSync(fd), what, warn)
    return readFileSync(fd, 'utf8').trim()
  } finally {
    closeSync(fd)
  }
}
