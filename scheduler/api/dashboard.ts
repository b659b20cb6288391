import type { GetStatsResponse } from 'dispatch-functions/protocol'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sendConnectError } from '../calls/connectError.js'
import { metricsAsJson } from '../metrics/metricsAsJson.js'
import type { SchedulerMetrics } from '../metrics/schedulerMetrics.js'
import type { Store } from '../store/store.js'
import { findDashboardAssets, loadDashboardAssets } from './dashboardAssets.js'
import type { DashboardOptions } from './dashboardOptions.js'
import { DashboardSessions, readCookie, SESSION_COOKIE, SESSION_MS } from './dashboardSession.js'

/** The header the dashboard's own requests carry: a cross-site form cannot send it, a cross-site fetch needs a preflight we never grant. */
export const CSRF_HEADER = 'x-dispatch-csrf'

/** Paths anyone may load (the page, its code, logging in and out): everything else needs the key or a session. */
const OPEN_PATHS = new Set(['/ui', '/ui/', '/ui/app.js', '/ui/app.css', '/ui/login', '/ui/logout'])

/** Headers of every dashboard page: nothing from elsewhere, no framing, no referrer. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
}

const isLoopback = (address: string | undefined): boolean =>
  address !== undefined && (/^(::ffff:)?127\./.test(address) || address === '::1')

/** Whether a request comes from the dashboard's own origin (its `Origin` names the host it was sent to). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin
  const host = request.headers.host
  if (origin === undefined || host === undefined) return false
  try {
    if (new URL(origin).host !== host) return false
  } catch {
    return false
  }
  const site = request.headers['sec-fetch-site']
  return site === undefined || site === 'same-origin'
}

export interface DashboardParts {
  readonly options: DashboardOptions
  readonly apiKey: string
  readonly store: Store
  readonly metrics: SchedulerMetrics | undefined
  readonly liveStats: (() => Omit<GetStatsResponse, 'calls'>) | undefined
  readonly now: () => number
}

/**
 * The dashboard's side of the API: its page and bundle under `/ui/`, a login that sets an http-only,
 * SameSite=Strict session cookie, and the overview's figures. `access` decides, before the bearer
 * check, what a request without `Authorization` may do.
 */
export class Dashboard {
  private readonly sessions: DashboardSessions

  constructor(private readonly parts: DashboardParts) {
    this.sessions = new DashboardSessions(parts.apiKey)
  }

  /**
   * For a request without an `Authorization` header: `'open'` (a public dashboard path), `'session'`
   * (a valid cookie, and for a change the same origin and the CSRF header), a refusal sent (true), or
   * `'none'` (no cookie: the bearer check answers).
   */
  access(request: FastifyRequest, reply: FastifyReply): 'open' | 'session' | 'none' | 'refused' {
    const path = request.url.split('?')[0]!
    const isDashboard = path === '/ui' || path.startsWith('/ui/')
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE)
    if (!isDashboard && cookie === undefined) return 'none'
    if (this.parts.options.loopbackOnly === true && !isLoopback(request.socket.remoteAddress)) {
      sendConnectError(
        reply,
        'permission_denied',
        'DSP3045: the dashboard is served on loopback only: open it on the machine that runs the scheduler',
      )
      return 'refused'
    }
    if (OPEN_PATHS.has(path)) return 'open'
    if (!this.sessions.verify(cookie, Date.now())) {
      reply.header('connection', 'close')
      sendConnectError(reply, 'unauthenticated', 'DSP3043: no valid dashboard session: log in again with the API key')
      return 'refused'
    }
    if (
      request.method !== 'GET' &&
      request.method !== 'HEAD' &&
      !(sameOrigin(request) && request.headers[CSRF_HEADER] === '1')
    ) {
      sendConnectError(
        reply,
        'permission_denied',
        `DSP3044: a change with the dashboard's cookie must come from the dashboard (same origin, ${CSRF_HEADER} header): scripts send Authorization: Bearer <key>`,
      )
      return 'refused'
    }
    return 'session'
  }

  register(app: FastifyInstance): void {
    const assets = loadDashboardAssets(this.parts.options.assetsDir ?? findDashboardAssets())
    const secure = (request: FastifyRequest) => (request.protocol === 'https' ? '; Secure' : '')

    app.get('/ui', (_request, reply) => reply.redirect('/ui/'))
    const serve = (name: string) => (_request: FastifyRequest, reply: FastifyReply) => {
      const asset = assets?.get(name)
      if (asset === undefined) {
        return reply
          .code(503)
          .header('content-type', 'text/plain; charset=utf-8')
          .send('The dashboard was not built: run `npm run build` (the tool package ships it in dist/ui).\n')
      }
      return reply.headers(PAGE_HEADERS).header('content-type', asset.contentType).send(asset.body)
    }
    app.get('/ui/', serve('index.html'))
    app.get('/ui/app.js', serve('app.js'))
    app.get('/ui/app.css', serve('app.css'))

    app.post('/ui/login', async (request, reply) => {
      if (!sameOrigin(request))
        return sendConnectError(reply, 'permission_denied', 'DSP3044: log in from the dashboard page itself')
      const apiKey = (request.body as { apiKey?: unknown } | undefined)?.apiKey
      const given = typeof apiKey === 'string' && apiKey.length <= 4096 ? apiKey : ''
      if (!this.sessions.isApiKey(given)) {
        reply.header('connection', 'close')
        // Never echoes what was typed: it may be a secret of something else.
        return sendConnectError(reply, 'unauthenticated', "DSP3043: that is not this scheduler's API key")
      }
      const value = this.sessions.issue(Date.now())
      reply.header(
        'set-cookie',
        `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}${secure(request)}`,
      )
      return reply.code(204).send()
    })

    app.post('/ui/logout', async (request, reply) => {
      reply.header('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure(request)}`)
      return reply.code(204).send()
    })

    // The overview's figures: the scheduler's metrics (counters, histograms, gauges), and the store's counts.
    app.get('/ui/api/overview', async () => {
      const { metrics, store, liveStats } = this.parts
      const all = metrics === undefined ? [] : metricsAsJson(await metrics.scrape())
      return {
        now: new Date(this.parts.now()).toISOString(),
        metricsOn: metrics !== undefined,
        metrics: all.filter((m) => m.name.startsWith('dispatch_')),
        stats: { calls: await store.countCalls(), ...(liveStats?.() ?? { endpoints: [], inFlight: 0 }) },
      }
    })
  }
}
