import { html } from './html.js'

export function StateBadge(props: { state: string }) {
  return html`<span class=${`badge state-${props.state}`}>${props.state}</span>`
}
