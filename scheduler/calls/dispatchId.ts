import { randomBytes } from 'node:crypto'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32, lower case
const RANDOM_MAX = (1n << 80n) - 1n

let lastTime = -1
let lastRandom = 0n

function encode(value: bigint, length: number): string {
  let text = ''
  for (let i = 0; i < length; i++) {
    text = ALPHABET[Number(value & 31n)]! + text
    value >>= 5n
  }
  return text
}

/**
 * A new dispatch id: 26 characters, a ULID (48-bit milliseconds, 80 random bits) in lower-case
 * Crockford base32. Ids sort by creation time, and within one millisecond of one process by
 * creation order (the random part is incremented), so listing newest-first and paging by id is stable.
 */
export function newDispatchId(now: number = Date.now()): string {
  if (now <= lastTime && lastRandom < RANDOM_MAX) {
    lastRandom += 1n
  } else {
    lastTime = now
    lastRandom = BigInt(`0x${randomBytes(10).toString('hex')}`) >> 1n // leave room to increment
  }
  return encode(BigInt(lastTime), 10) + encode(lastRandom, 16)
}
