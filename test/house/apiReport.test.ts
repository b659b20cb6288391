import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { apiReport, createReportProject, PACKAGES, reportPath } from './apiReport.js'

// The public API changes only on purpose: the checked-in report (api/<package>.api.md) must match
// what the entry points export. After a deliberate change, `npm run api:report` rewrites it.
describe('the public API report', () => {
  const project = createReportProject()
  it.each(PACKAGES)(
    '%s matches api/<package>.api.md (npm run api:report rewrites it)',
    (dir) => {
      const checkedIn = readFileSync(reportPath(dir), 'utf8')
      expect(apiReport(project, dir)).toBe(checkedIn)
    },
    120_000,
  )
})
