/**
 * Prints the figures the fuzz and fault suites recorded in their last run (one row per suite) as a
 * Markdown table, with the totals docs/reliability.md reports. `npm run faults` and `npm run fuzz`
 * end with it; `tsx test/faults/report.ts` prints the last figures again.
 */
import { readFigures } from '../fuzz/fuzzConfig.js'

const rows = readFigures()
const only = process.argv[2]
const shown = only === undefined ? rows : rows.filter((row) => row.suite.startsWith(only))
if (shown.length === 0) {
  console.log('no figures recorded yet: run npm run faults or npm run fuzz')
} else {
  const columns = [...new Set(shown.flatMap((row) => Object.keys(row).filter((k) => k !== 'suite')))]
  const cell = (v: unknown) => (v === undefined ? '' : typeof v === 'number' ? v.toLocaleString('en-US') : String(v))
  console.log(`| suite | ${columns.join(' | ')} |`)
  console.log(`| --- | ${columns.map(() => '---:').join(' | ')} |`)
  for (const row of shown) console.log(`| ${row.suite} | ${columns.map((c) => cell(row[c])).join(' | ')} |`)
  const total = (name: string) =>
    shown.reduce((sum, row) => sum + (typeof row[name] === 'number' ? (row[name] as number) : 0), 0)
  console.log()
  for (const name of [
    'calls accepted',
    'calls completed',
    'calls lost',
    'crashes injected',
    'crashes survived',
    'connection kills injected',
    'connection kills survived',
    'bad inputs tried',
    'crashes or 5xx seen',
    'forgeries accepted',
  ]) {
    console.log(`${name}: ${total(name).toLocaleString('en-US')}`)
  }
}
