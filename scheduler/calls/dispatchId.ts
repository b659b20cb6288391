import { randomBytes } from 'node:crypto'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32, lower case
/** The random part is two halves of 40 bits (8 characters each), kept as numbers: exact, and no BigInt per id. */
const HALF = 2 ** 40

let lastTime = -1
/** The time part of ids made in `lastTime`'s millisecond. */
let timeText = ''
let high = 0
let low = 0
/** The characters of `high`, remade only when it changes. */
let highText = ''

function encode(value: bigint, length: number): string {
  let text = ''
  for (let i = 0; i < length; i++) {
    text = ALPHABET[Number(value & 31n)]! + text
    value >>= 5n
  }
  return text
}

/** 40 bits as 8 characters. */
function encodeHalf(value: number): string {
  let text = ''
  for (let i = 0; i < 8; i++) {
    text = ALPHABET[value % 32]! + text
    value = Math.floor(value / 32)
  }
  return text
}

/**
 * A new dispatch id: 26 characters, a ULID (48-bit milliseconds, 80 random bits) in lower-case
 * Crockford base32. Ids sort by creation time, and within one millisecond of one process by
 * creation order (the random part is incremented), so listing newest-first and paging by id is stable.
 */
export function newDispatchId(now: number = Date.now()): string {
  if (now <= lastTime && (high < HALF - 1 || low < HALF - 1)) {
    low += 1
    if (low === HALF) {
      low = 0
      high += 1
      highText = encodeHalf(high)
    }
  } else {
    if (now !== lastTime) timeText = encode(BigInt(now), 10)
    lastTime = now
    // 80 random bits shifted right by one, to leave room to increment.
    const bytes = randomBytes(10)
    const top = bytes.readUIntBE(0, 5)
    high = Math.floor(top / 2)
    low = (top % 2) * (HALF / 2) + Math.floor(bytes.readUIntBE(5, 5) / 2)
    highText = encodeHalf(high)
  }
  return timeText + highText + encodeHalf(low)
}
