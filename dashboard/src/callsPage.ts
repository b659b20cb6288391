import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError, api, type BulkCallsRequest, bulkAll, type CallInfo, type ListCallsRequest } from './api.js'
import type { Confirmation } from './confirmDialog.js'
import { LIVE_STATES, REDRIVABLE_STATES, STATES, when } from './format.js'
import { html } from './html.js'
import { StateBadge } from './stateBadge.js'

const PAGE_SIZE = 50
const LIVE_MS = 2000

/** The filter as the page's address keeps it (`#/calls?state=failed&function=f`), so it can be shared. */
type Filter = Record<'state' | 'function' | 'endpoint' | 'from' | 'to' | 'q', string>
const FIELDS = ['state', 'function', 'endpoint', 'from', 'to', 'q'] as const

export function filterFromQuery(query: URLSearchParams): Filter {
  return Object.fromEntries(FIELDS.map((f) => [f, query.get(f) ?? ''])) as Filter
}

function toRequest(filter: Filter): BulkCallsRequest {
  const request: BulkCallsRequest = {}
  if (filter.state !== '') request.state = filter.state as NonNullable<ListCallsRequest['state']>
  if (filter.function !== '') request.function = filter.function
  if (filter.endpoint !== '') request.endpoint = filter.endpoint
  if (filter.from !== '') request.createdAfter = new Date(filter.from).toISOString()
  if (filter.to !== '') request.createdBefore = new Date(filter.to).toISOString()
  if (filter.q !== '') request.search = filter.q
  return request
}

function describe(request: BulkCallsRequest): string {
  return Object.entries(request)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
}

export function CallsPage(props: { query: URLSearchParams; ask: (c: Confirmation) => void }) {
  const filter = filterFromQuery(props.query)
  const request = toRequest(filter)
  const key = JSON.stringify(request)
  // Cursors of the pages before this one, to go back; the current page's cursor last.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined])
  const [calls, setCalls] = useState<CallInfo[] | undefined>(undefined)
  const [next, setNext] = useState<string | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [live, setLive] = useState(true)
  const cursor = cursors[cursors.length - 1]

  const load = useCallback(async () => {
    try {
      const page = await api.list({ ...request, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) })
      setCalls(page.calls)
      setNext(page.nextCursor)
      setError(undefined)
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) setError((e as Error).message)
    }
  }, [key, cursor])

  useEffect(() => setCursors([undefined]), [key])
  useEffect(() => {
    void load()
    if (!live) return
    const timer = setInterval(() => void load(), LIVE_MS)
    return () => clearInterval(timer)
  }, [load, live])

  const apply = (event: Event) => {
    event.preventDefault()
    const data = new FormData(event.currentTarget as HTMLFormElement)
    const query = new URLSearchParams()
    for (const f of FIELDS) {
      const v = String(data.get(f) ?? '').trim()
      if (v !== '') query.set(f, v)
    }
    location.hash = `#/calls${query.size > 0 ? `?${query}` : ''}`
  }

  const bulk = async (verb: 'cancel' | 'redrive') => {
    setNotice(undefined)
    try {
      const { matched } = await bulkAll(verb, request, true)
      const list = verb === 'cancel' ? LIVE_STATES : REDRIVABLE_STATES
      const states = `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`
      if (matched === 0) {
        setNotice(`No ${states} call matches: nothing to ${verb}.`)
        return
      }
      props.ask({
        question: `${verb === 'cancel' ? 'Cancel' : 'Redrive'} ${matched} ${states} call${matched === 1 ? '' : 's'} matching ${describe(request)}?`,
        action: verb === 'cancel' ? `Cancel ${matched}` : `Redrive ${matched}`,
        run: async () => {
          try {
            const done = await bulkAll(verb, request, false)
            setNotice(
              `${done.changed} call${done.changed === 1 ? '' : 's'} ${verb === 'cancel' ? 'cancelled' : 'redriven'}.`,
            )
            await load()
          } catch (e) {
            setError((e as Error).message)
          }
        },
      })
    } catch (e) {
      setError((e as Error).message)
    }
  }
  const filtered = Object.keys(request).length > 0

  // The filter fields are uncontrolled (defaults only): the list's refresh every 2 s re-renders the
  // page, and a value bound to the applied filter would wipe what the user is typing. A new filter
  // (the form's key) draws the form anew with its values.
  return html`<section>
    <form class="filters" onSubmit=${apply} key=${key}>
      <label>State
        <select name="state">
          <option value="" selected=${filter.state === ''}>any</option>
          ${STATES.map((s) => html`<option value=${s} selected=${filter.state === s}>${s}</option>`)}
        </select>
      </label>
      <label>Function <input name="function" defaultValue=${filter.function} /></label>
      <label>Endpoint <input name="endpoint" defaultValue=${filter.endpoint} placeholder="http://127.0.0.1:8000" /></label>
      <label>Created from <input name="from" type="datetime-local" step="1" defaultValue=${filter.from} /></label>
      <label>to <input name="to" type="datetime-local" step="1" defaultValue=${filter.to} /></label>
      <label>Id or idempotency key <input name="q" defaultValue=${filter.q} /></label>
      <button type="submit">Filter</button>
      <a href="#/calls" class="button secondary">Clear</a>
    </form>
    <div class="toolbar">
      <label><input type="checkbox" checked=${live} onChange=${(e: Event) => setLive((e.target as HTMLInputElement).checked)} /> live</label>
      <span class="spacer"></span>
      <button type="button" class="secondary" disabled=${!filtered} title=${filtered ? '' : 'filter first'} onClick=${() => bulk('cancel')}>Cancel matching…</button>
      <button type="button" class="secondary" disabled=${!filtered} title=${filtered ? '' : 'filter first'} onClick=${() => bulk('redrive')}>Redrive matching…</button>
    </div>
    ${notice === undefined ? null : html`<p class="notice" role="status">${notice}</p>`}
    ${error === undefined ? null : html`<p class="error" role="alert">${error}</p>`}
    ${
      calls === undefined
        ? html`<p>Loading…</p>`
        : calls.length === 0
          ? html`<p class="empty">No calls match.</p>`
          : html`<table class="calls">
              <thead><tr><th>Dispatch id</th><th>Function</th><th>State</th><th>Last status</th><th>Attempts</th><th>Created</th><th>Updated</th></tr></thead>
              <tbody>
                ${calls.map(
                  (c) => html`<tr data-id=${c.dispatchId}>
                    <td><a href=${`#/call/${c.dispatchId}`} class="mono">${c.dispatchId}</a></td>
                    <td>${c.function}</td>
                    <td><${StateBadge} state=${c.state} /></td>
                    <td>${c.status ?? '-'}</td>
                    <td>${c.attempts}</td>
                    <td>${when(c.createdAt)}</td>
                    <td>${when(c.updatedAt)}</td>
                  </tr>`,
                )}
              </tbody>
            </table>`
    }
    <div class="pager">
      <button type="button" class="secondary" disabled=${cursors.length === 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Newer</button>
      <span>page ${cursors.length}</span>
      <button type="button" class="secondary" disabled=${next === undefined} onClick=${() => setCursors([...cursors, next])}>Older</button>
    </div>
  </section>`
}
