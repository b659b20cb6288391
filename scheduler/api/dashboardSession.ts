import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** The dashboard's session cookie. */
export const SESSION_COOKIE = 'dispatch_session'
/** A session lasts this long; logging in again makes a new one. */
export const SESSION_MS = 12 * 60 * 60 * 1000

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

/**
 * The dashboard's sessions: a cookie value `<expiry ms>.<HMAC>` keyed by the API key, so that it
 * never holds the key itself, needs no server-side table, and is accepted by every node that shares
 * the key (PostgreSQL). Every comparison runs in constant time.
 */
export class DashboardSessions {
  private readonly macKey: Buffer
  private readonly keyDigest: Buffer

  constructor(apiKey: string) {
    this.macKey = digest(`dispatch-dashboard-session\0${apiKey}`)
    this.keyDigest = digest(apiKey)
  }

  /** Whether `presented` is the API key (hashed first: the time does not depend on its length or content). */
  isApiKey(presented: string): boolean {
    return timingSafeEqual(digest(presented), this.keyDigest)
  }

  /** A new session's cookie value, valid until `now + SESSION_MS`. */
  issue(now: number): string {
    const expires = String(now + SESSION_MS)
    return `${expires}.${this.mac(expires)}`
  }

  /** Whether a cookie value is a session this key issued that has not expired. */
  verify(value: string | undefined, now: number): boolean {
    const match = value === undefined ? null : /^([0-9]{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value)
    const expires = match?.[1] ?? '0'
    const expected = Buffer.from(this.mac(expires))
    const presented = Buffer.from(match?.[2] ?? ''.padEnd(43, 'A'))
    const same = presented.length === expected.length && timingSafeEqual(presented, expected)
    return same && match !== null && Number(expires) > now
  }

  private mac(expires: string): string {
    return createHmac('sha256', this.macKey).update(expires).digest('base64url')
  }
}

/** The value of one cookie in a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
