import { html } from './html.js'

export interface Confirmation {
  readonly question: string
  readonly action: string
  readonly run: () => Promise<void> | void
}

/** A modal that asks before an action: nothing changes until "confirm" is pressed. */
export function ConfirmDialog(props: { confirmation: Confirmation; close: () => void }) {
  const { confirmation, close } = props
  return html`<div class="backdrop">
    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="confirm-question">
      <p id="confirm-question">${confirmation.question}</p>
      <div class="buttons">
        <button type="button" class="secondary" onClick=${close}>Back</button>
        <button
          type="button"
          class="danger"
          data-testid="confirm"
          onClick=${async () => {
            close()
            await confirmation.run()
          }}
        >
          ${confirmation.action}
        </button>
      </div>
    </div>
  </div>`
}
