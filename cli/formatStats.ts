import type { GetStatsResponse } from 'dispatch-functions/protocol'
import { endpointSummary, functionSummaries } from './formatSummary.js'

/**
 * What `dispatch calls stats` prints: the calls per function and state, each endpoint's adaptive
 * concurrency (attempts in flight, the limit now and its bounds), and the back-pressure counts.
 */
export function formatStats(stats: GetStatsResponse): string {
  const functions = functionSummaries(stats.calls)
  const lines = ['calls:', ...(functions.length > 0 ? functions : ['no calls yet']).map((line) => `  ${line}`)]
  lines.push('endpoints (adaptive concurrency):')
  if (stats.endpoints.length === 0) lines.push('  none delivered to yet (or adaptive concurrency is off)')
  for (const endpoint of [...stats.endpoints].sort((a, b) => a.endpoint.localeCompare(b.endpoint))) {
    lines.push(`  ${endpointSummary(endpoint)}`)
  }
  const load = [`${stats.inFlight} attempts in flight`]
  if (stats.unfinishedCalls !== undefined) load.push(`${stats.unfinishedCalls} unfinished calls`)
  if (stats.queuedCalls !== undefined) load.push(`${stats.queuedCalls} awaiting commit`)
  lines.push(`load: ${load.join(', ')}`)
  return `${lines.join('\n')}\n`
}
