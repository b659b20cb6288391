import { useState } from 'preact/hooks'
import { api } from './api.js'
import { html } from './html.js'

const HINT = html`The scheduler's key, <code>DISPATCH_API_KEY</code>: under <code>dispatch run</code>, <code>npx dispatch env</code> prints it.`

/** Asks for the API key once; the scheduler answers with an http-only session cookie (the page never keeps the key). */
export function LoginPage() {
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const input = form.elements.namedItem('apiKey') as HTMLInputElement
    setBusy(true)
    try {
      await api.login(input.value)
      input.value = ''
      location.hash = '#/calls'
    } catch (e) {
      input.value = ''
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return html`<main class="login">
    <h1>dispatch</h1>
    <form onSubmit=${submit}>
      <label for="apiKey">API key</label>
      <input id="apiKey" name="apiKey" type="password" autocomplete="current-password" required autofocus />
      <p class="hint">${HINT}</p>
      <button type="submit" disabled=${busy}>Log in</button>
      ${error === undefined ? null : html`<p class="error" role="alert">${error}</p>`}
    </form>
  </main>`
}
