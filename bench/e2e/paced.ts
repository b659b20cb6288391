import { sleep } from './benchArgs.js'

/**
 * The latency phase's load: `send(n)` every `tickMs` for `seconds`, with n chosen so that the rate is
 * `rate` per second. Waits for every send; resolves with how many were sent.
 */
export async function paced(
  rate: number,
  seconds: number,
  send: (count: number) => Promise<void>,
  tickMs = 5,
): Promise<number> {
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000))
  const ticks = Math.round((seconds * 1000) / tickMs)
  const started = performance.now()
  const sends: Promise<void>[] = []
  for (let tick = 0; tick < ticks; tick++) {
    const wait = started + tick * tickMs - performance.now()
    if (wait > 0) await sleep(wait)
    sends.push(send(perTick))
  }
  await Promise.all(sends)
  return ticks * perTick
}
