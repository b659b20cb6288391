import htm from 'htm'
import { h } from 'preact'

/** JSX-like templates without a compiler: html`<div class=${x}>...</div>`. */
export const html = htm.bind(h)
