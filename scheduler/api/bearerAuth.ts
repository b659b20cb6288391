import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

/**
 * Checks `Authorization: Bearer <key>` in constant time: both sides are hashed first, so the
 * comparison takes the same time whatever the length or content of the presented key.
 */
export function bearerChecker(apiKey: string): (authorization: string | undefined) => boolean {
  const expected = digest(apiKey)
  return (authorization) => {
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    const presented = digest(match?.[1] ?? '')
    return timingSafeEqual(presented, expected) && match !== null
  }
}
