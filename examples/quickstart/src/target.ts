import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The local webhook the quickstart publishes to (never the internet). It fails some first
 * deliveries on purpose — 503 for every 5th payload, 429 for every 7th — so the demo shows retries.
 */
export interface Target {
  readonly url: string
  /** Payload numbers received with a 2xx answer. */
  readonly delivered: Set<number>
  /** How many times each HTTP status was answered. */
  readonly answers: Map<number, number>
  close(): Promise<void>
}

export async function startTarget(): Promise<Target> {
  const delivered = new Set<number>()
  const answers = new Map<number, number>()
  const seen = new Set<number>()
  const server: Server = createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => {
      body += chunk
    })
    request.on('end', () => {
      const n = Number((JSON.parse(body || '{}') as { n?: unknown }).n)
      const first = !seen.has(n)
      seen.add(n)
      const status = first && n % 5 === 0 ? 503 : first && n % 7 === 0 ? 429 : 200
      if (status === 200) delivered.add(n)
      answers.set(status, (answers.get(status) ?? 0) + 1)
      response.writeHead(status, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hook`,
    delivered,
    answers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
