/**
 * The throughput phase's load: `total` items sent by `clients` concurrent senders in batches of up
 * to `batch`; `send(n, k)` sends n items (k counts the batches, for spreading them over nodes).
 */
export async function inBatches(
  total: number,
  send: (count: number, k: number) => Promise<void>,
  clients = 4,
  batch = 1000,
): Promise<void> {
  let sent = 0
  let batches = 0
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (sent < total) {
        const n = Math.min(batch, total - sent)
        sent += n
        await send(n, batches++)
      }
    }),
  )
}
