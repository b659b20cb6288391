/** The path the scheduler POSTs to (Connect unary: `/<service>/<method>`). */
export const RUN_PATH = '/dispatch.sdk.v1.FunctionService/Run'

/**
 * `<endpoint>/dispatch.sdk.v1.FunctionService/Run`, keeping a path prefix the endpoint URL may have:
 * the URL the scheduler posts to and signs, and from which the endpoint derives what it checks.
 *
 * @example
 * ```ts
 * runUrl('https://app.example/dispatch/').href // 'https://app.example/dispatch/dispatch.sdk.v1.FunctionService/Run'
 * ```
 */
export function runUrl(endpoint: string): URL {
  const url = new URL(endpoint)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${RUN_PATH}`
  url.search = ''
  url.hash = ''
  return url
}
