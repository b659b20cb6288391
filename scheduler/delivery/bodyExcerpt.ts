/** The most characters of an endpoint's error answer copied into a call's error. */
export const EXCERPT_CHARS = 200

/**
 * A short, printable excerpt of an endpoint's non-2xx answer, for a call's error: the message of a
 * Connect error body, else the start of the body; control and format characters (terminal escapes,
 * bidirectional overrides, NULs, newlines) become spaces, runs of spaces one, and it is cut at
 * {@link EXCERPT_CHARS} characters with an ellipsis.
 */
export function bodyExcerpt(text: string): string {
  let message = text
  if (text.startsWith('{')) {
    try {
      const decoded = JSON.parse(text) as { code?: unknown; message?: unknown }
      if (typeof decoded.message === 'string') {
        message = typeof decoded.code === 'string' ? `${decoded.code}: ${decoded.message}` : decoded.message
      }
    } catch {}
  }
  // Only the start is ever shown: cut first so that a huge answer is never scanned whole.
  const clean = message
    .slice(0, EXCERPT_CHARS * 4)
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim()
  if (clean === '') return '(empty body)'
  const chars = [...clean]
  return chars.length <= EXCERPT_CHARS ? clean : `${chars.slice(0, EXCERPT_CHARS).join('')}…`
}
