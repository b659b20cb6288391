/** The `metrics` scheduler option: what `/metrics` serves, and where. */
export interface MetricsOptions {
  /**
   * Also serve `GET /metrics` on this port of its own, without the API key (Prometheus scrapes it
   * with no secret); bound to `host`. Default: no listener of its own — `/metrics` is on the API,
   * behind the API key.
   */
  readonly port?: number
  /** The host of the metrics listener (`port`). Default '127.0.0.1': loopback only. */
  readonly host?: string
  /**
   * Node's process metrics (CPU, memory, heap, event-loop delay, GC; prom-client's default metrics)
   * beside the scheduler's. Default true.
   */
  readonly processMetrics?: boolean
}
