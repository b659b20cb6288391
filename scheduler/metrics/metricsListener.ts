import { createServer, type Server } from 'node:http'
import type { SchedulerMetrics } from './schedulerMetrics.js'

/** A listener of its own that answers `GET /metrics` (no key: bound to loopback unless told otherwise). */
export interface MetricsListener {
  /** `http://host:port/metrics`. */
  readonly url: string
  close(): Promise<void>
}

/** Serves the scheduler's metrics on `host:port` (port 0: a free one), nothing else. */
export async function listenForScrapes(
  metrics: SchedulerMetrics,
  host: string,
  port: number,
): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n')
      return
    }
    metrics.scrape().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('collecting the metrics failed\n'),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
