/** The web dashboard the scheduler's API serves under `/ui/` (docs/dashboard.md). */
export interface DashboardOptions {
  /**
   * Serve the dashboard and accept its session cookie only from loopback addresses (127.0.0.0/8,
   * ::1), whatever address the API listens on. `dispatch run` sets it. Default false.
   */
  readonly loopbackOnly?: boolean
  /** The folder of the built dashboard (index.html, app.js, app.css). Default: the one the tool package ships. */
  readonly assetsDir?: string
}
