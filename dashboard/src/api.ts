import type {
  AttemptInfo,
  BulkCallsRequest,
  BulkCallsResponse,
  CallInfo,
  GetStatsResponse,
  ListCallsRequest,
  ListCallsResponse,
} from '../../schemas/callService.js'

export type { AttemptInfo, BulkCallsRequest, CallInfo, ListCallsRequest }

/** A refusal of the scheduler, with its message (never a secret: the API does not echo keys). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** Sent on every change: with the cookie and the same origin, what the scheduler requires of the dashboard. */
const CSRF = { 'x-dispatch-csrf': '1' }

async function send(path: string, init: RequestInit): Promise<unknown> {
  const response = await fetch(path, { credentials: 'same-origin', ...init })
  if (response.status === 401 && !path.endsWith('/login')) {
    location.hash = '#/login'
    throw new ApiError(401, 'log in first')
  }
  const text = await response.text()
  const body = text === '' ? undefined : JSON.parse(text)
  if (!response.ok) throw new ApiError(response.status, (body as { message?: string })?.message ?? response.statusText)
  return body
}

const post = (method: string, body: unknown): Promise<any> =>
  send(`/dispatch.scheduler.v1.CallService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...CSRF },
    body: JSON.stringify(body),
  })

export const api = {
  login: (apiKey: string) =>
    send('/ui/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...CSRF },
      body: JSON.stringify({ apiKey }),
    }),
  logout: () => send('/ui/logout', { method: 'POST', headers: CSRF }),
  list: (filter: ListCallsRequest): Promise<ListCallsResponse> => post('List', filter),
  get: (dispatchId: string): Promise<{ call: CallInfo; attempts?: AttemptInfo[] }> => post('Get', { dispatchId }),
  cancel: (dispatchId: string): Promise<{ call: CallInfo }> => post('Cancel', { dispatchId }),
  redrive: (dispatchId: string): Promise<{ call: CallInfo }> => post('Redrive', { dispatchId }),
  bulk: (verb: 'cancel' | 'redrive', request: BulkCallsRequest): Promise<BulkCallsResponse> =>
    post(verb === 'cancel' ? 'CancelMany' : 'RedriveMany', request),
  overview: (): Promise<Overview> => send('/ui/api/overview', { method: 'GET' }) as Promise<Overview>,
}

/** One metric as prom-client's registry gives it in JSON. */
export interface MetricJson {
  readonly name: string
  readonly type: string
  readonly values: readonly { value: number; labels: Record<string, string | number>; metricName?: string }[]
}

export interface Overview {
  readonly now: string
  readonly metricsOn: boolean
  readonly metrics: readonly MetricJson[]
  readonly stats: GetStatsResponse
}

/** Every page of a bulk action: a dry run to count, or the action itself. */
export async function bulkAll(
  verb: 'cancel' | 'redrive',
  filter: BulkCallsRequest,
  dryRun: boolean,
): Promise<{ matched: number; changed: number }> {
  let matched = 0
  let changed = 0
  let cursor: string | undefined
  do {
    const page = await api.bulk(verb, {
      ...filter,
      limit: 1000,
      ...(dryRun ? { dryRun } : {}),
      ...(cursor ? { cursor } : {}),
    })
    matched += page.matched
    changed += page.changed
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return { matched, changed }
}
