import { useEffect, useState } from 'preact/hooks'
import { api, type CallInfo } from './api.js'
import { html } from './html.js'
import { StateBadge } from './stateBadge.js'

/** Bounds on what the tree reads: a coroutine may start thousands of children. */
const MAX_DEPTH = 5
const MAX_CHILDREN = 100

interface Node {
  readonly call: CallInfo
  readonly children: Node[]
  /** More children than were read. */
  readonly more: boolean
}

async function grow(call: CallInfo, depth: number): Promise<Node> {
  if (depth >= MAX_DEPTH) return { call, children: [], more: false }
  const page = await api.list({ parentDispatchId: call.dispatchId, limit: MAX_CHILDREN })
  // Oldest first reads like the coroutine's code.
  const children = await Promise.all([...page.calls].reverse().map((child) => grow(child, depth + 1)))
  return { call, children, more: page.nextCursor !== undefined }
}

function Branch(props: { node: Node; current: string }) {
  const { call, children, more } = props.node
  const here = call.dispatchId === props.current
  return html`<li>
    <span class=${here ? 'node current' : 'node'}>
      ${here ? html`<strong class="mono">${call.dispatchId}</strong>` : html`<a href=${`#/call/${call.dispatchId}`} class="mono">${call.dispatchId}</a>`}
      ${' '}${call.function} <${StateBadge} state=${call.state} />
    </span>
    ${
      children.length > 0
        ? html`<ul>${children.map((c) => html`<${Branch} node=${c} current=${props.current} />`)}${more ? html`<li class="hint">more children not shown</li>` : null}</ul>`
        : null
    }
  </li>`
}

/** The coroutine tree the call belongs to, from its root: parents, children and their states, each a link. */
export function CallTree(props: { call: CallInfo; version: number }) {
  const { call } = props
  const [tree, setTree] = useState<Node | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    let stale = false
    const rootId = call.rootDispatchId ?? call.dispatchId
    const load = async () => {
      const root = rootId === call.dispatchId ? call : (await api.get(rootId)).call
      const grown = await grow(root, 0)
      if (!stale) setTree(grown)
    }
    load().catch((e: Error) => !stale && setError(e.message))
    return () => {
      stale = true
    }
  }, [call.dispatchId, props.version])
  if (error !== undefined) return html`<p class="error">${error}</p>`
  if (tree === undefined) return html`<p>Loading…</p>`
  if (tree.children.length === 0 && call.parentDispatchId === undefined)
    return html`<p class="hint">No parent, no children.</p>`
  return html`<ul class="tree" data-testid="tree"><${Branch} node=${tree} current=${call.dispatchId} /></ul>`
}
