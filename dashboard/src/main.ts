/**
 * The scheduler's web dashboard: a Preact app in one bundle, served by the scheduler under /ui/ and
 * talking to its CallService with the session cookie. Pages are hash routes, so the server serves one
 * page: `#/calls?…` (the list and its filters), `#/call/<id>`, `#/overview`, `#/login`.
 */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api } from './api.js'
import { CallPage } from './callPage.js'
import { CallsPage } from './callsPage.js'
import { type Confirmation, ConfirmDialog } from './confirmDialog.js'
import { html } from './html.js'
import { LoginPage } from './loginPage.js'
import { OverviewPage } from './overviewPage.js'

function useHash(): string {
  const [hash, setHash] = useState(location.hash)
  useEffect(() => {
    const changed = () => setHash(location.hash)
    addEventListener('hashchange', changed)
    return () => removeEventListener('hashchange', changed)
  }, [])
  return hash
}

function App() {
  const hash = useHash()
  const [confirmation, setConfirmation] = useState<Confirmation | undefined>(undefined)
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?')
  const query = new URLSearchParams(search)
  if (path === '/login') return html`<${LoginPage} />`

  let page: unknown
  let tab = 'calls'
  const call = /^\/call\/([0-9a-z]+)$/.exec(path)
  if (call !== null) page = html`<${CallPage} id=${call[1]} ask=${setConfirmation} key=${call[1]} />`
  else if (path === '/overview') {
    tab = 'overview'
    page = html`<${OverviewPage} />`
  } else page = html`<${CallsPage} query=${query} ask=${setConfirmation} />`

  const logout = async () => {
    await api.logout().catch(() => undefined)
    location.hash = '#/login'
  }
  return html`<div class="app">
    <header>
      <strong>dispatch</strong>
      <nav>
        <a href="#/calls" class=${tab === 'calls' ? 'active' : ''}>Calls</a>
        <a href="#/overview" class=${tab === 'overview' ? 'active' : ''}>Overview</a>
      </nav>
      <button type="button" class="secondary" onClick=${logout}>Log out</button>
    </header>
    <main>${page}</main>
    ${confirmation === undefined ? null : html`<${ConfirmDialog} confirmation=${confirmation} close=${() => setConfirmation(undefined)} />`}
  </div>`
}

render(html`<${App} />`, document.getElementById('app')!)
