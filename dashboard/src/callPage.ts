import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError, type AttemptInfo, api, type CallInfo } from './api.js'
import { CallTree } from './callTree.js'
import type { Confirmation } from './confirmDialog.js'
import { duration, json, LIVE_STATES, REDRIVABLE_STATES, unwrap, when } from './format.js'
import { html } from './html.js'
import { StateBadge } from './stateBadge.js'

const LIVE_MS = 2000

function Attempts(props: { attempts: readonly AttemptInfo[] }) {
  if (props.attempts.length === 0) return html`<p class="hint">No attempt recorded yet.</p>`
  return html`<table class="attempts">
    <thead><tr><th>#</th><th>Started</th><th>Duration</th><th>Status</th><th>Outcome</th><th>Error</th></tr></thead>
    <tbody>
      ${props.attempts.map(
        (a) => html`<tr>
          <td>${a.attempt}</td>
          <td>${when(a.startedAt)}</td>
          <td>${duration(Date.parse(a.finishedAt) - Date.parse(a.startedAt))}</td>
          <td>${a.status}</td>
          <td>${a.outcome}</td>
          <td>${a.error === undefined ? '' : `${a.error.type}: ${a.error.message}`}</td>
        </tr>`,
      )}
    </tbody>
  </table>`
}

export function CallPage(props: { id: string; ask: (c: Confirmation) => void }) {
  const [call, setCall] = useState<CallInfo | undefined>(undefined)
  const [attempts, setAttempts] = useState<AttemptInfo[]>([])
  const [error, setError] = useState<string | undefined>(undefined)
  const [version, setVersion] = useState(0)

  const load = useCallback(async () => {
    try {
      const answer = await api.get(props.id)
      setCall(answer.call)
      setAttempts(answer.attempts ?? [])
      setError(undefined)
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) setError((e as Error).message)
    }
  }, [props.id])

  const live = call === undefined || LIVE_STATES.includes(call.state)
  useEffect(() => {
    void load()
    if (!live) return
    const timer = setInterval(() => void load(), LIVE_MS)
    return () => clearInterval(timer)
  }, [load, live])

  if (call === undefined)
    return error === undefined ? html`<p>Loading…</p>` : html`<p class="error" role="alert">${error}</p>`

  const act = (verb: 'cancel' | 'redrive') =>
    props.ask({
      question:
        verb === 'cancel'
          ? `Cancel call ${call.dispatchId} (${call.function})${call.resultsWaiting !== undefined ? ' and the calls it started' : ''}?`
          : `Redrive call ${call.dispatchId} (${call.function}) from its original input?`,
      action: verb === 'cancel' ? 'Cancel call' : 'Redrive call',
      run: async () => {
        try {
          await (verb === 'cancel' ? api.cancel(call.dispatchId) : api.redrive(call.dispatchId))
          await load()
          setVersion((v) => v + 1)
        } catch (e) {
          setError((e as Error).message)
        }
      },
    })

  const output = unwrap(call.output)
  return html`<section class="call">
    <h2><span class="mono">${call.dispatchId}</span> <${StateBadge} state=${call.state} /></h2>
    <div class="toolbar">
      ${LIVE_STATES.includes(call.state) ? html`<button type="button" class="danger" onClick=${() => act('cancel')}>Cancel…</button>` : null}
      ${REDRIVABLE_STATES.includes(call.state) ? html`<button type="button" onClick=${() => act('redrive')}>Redrive…</button>` : null}
    </div>
    ${error === undefined ? null : html`<p class="error" role="alert">${error}</p>`}
    <dl class="facts">
      <dt>Function</dt><dd>${call.function}</dd>
      <dt>Endpoint</dt><dd>${call.endpoint}</dd>
      <dt>Last attempt's status</dt><dd>${call.status ?? '-'}</dd>
      <dt>Attempts</dt><dd>${call.attempts}${call.restarts ? ` (${call.restarts} restarts)` : ''}</dd>
      <dt>Created</dt><dd>${when(call.createdAt)}</dd>
      <dt>Updated</dt><dd>${when(call.updatedAt)}</dd>
      ${call.nextAttemptAt ? html`<dt>Next attempt</dt><dd>${when(call.nextAttemptAt)}</dd>` : null}
      ${call.expiresAt ? html`<dt>Expires</dt><dd>${when(call.expiresAt)}</dd>` : null}
      ${call.idempotencyKey ? html`<dt>Idempotency key</dt><dd class="mono">${call.idempotencyKey}</dd>` : null}
      ${call.fairnessKey ? html`<dt>Fairness key</dt><dd>${call.fairnessKey}</dd>` : null}
      ${call.debounce ? html`<dt>Debounce</dt><dd data-testid="debounce">${debounceText(call)}</dd>` : null}
      ${call.parentDispatchId ? html`<dt>Parent</dt><dd><a class="mono" href=${`#/call/${call.parentDispatchId}`}>${call.parentDispatchId}</a></dd>` : null}
      <dt>Trace id</dt><dd class="mono" data-testid="trace-id">${call.traceId ?? '-'}</dd>
    </dl>
    <h3>Input</h3>
    <pre data-testid="input">${json(unwrap(call.input))}</pre>
    ${call.error !== undefined ? html`<h3>Error</h3><pre class="error-box" data-testid="error">${call.error.type}: ${call.error.message}</pre>` : null}
    ${call.output !== undefined ? html`<h3>Output</h3><pre data-testid="output">${json(output)}</pre>` : null}
    <h3>Attempts</h3>
    <${Attempts} attempts=${attempts} />
    <h3>Coroutine tree</h3>
    <${CallTree} call=${call} version=${version} />
  </section>`
}

/** A debounced call's debounce (docs/flow-control.md), and while its window is open that it waits. */
function debounceText(call: CallInfo): string {
  const d = call.debounce!
  const key = d.key === '' ? 'all calls of the function' : `key "${d.key}"`
  const open = call.waiting === 'debounced' ? '; its window is open: calls of its key collapse into it' : ''
  return `${d.windowMs} ms for ${key}, keeps the ${d.keep} input, stands for ${d.dispatches} dispatch${d.dispatches === 1 ? '' : 'es'}${open}`
}
