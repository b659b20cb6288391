import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { billingClient } from '@example/orders'
import { generate } from 'dispatch-functions-tools/codegen'
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { removeFolder, startEndpoint, startTestScheduler, tempFolder } from '../scheduler/helpers.js'
import { repoRoot } from './helpers.js'

const billing = join(repoRoot, 'examples/cross-service/billing')
const tsc = join(repoRoot, 'node_modules/.bin/tsc')

/**
 * Runs an ES module snippet with plain node (no tsx) from the repository root, so packages resolve to
 * their built JavaScript as in production; resolves to its stdout.
 */
function runSnippet(code: string, env: Record<string, string> = {}): Promise<string> {
  return runNode(['--input-type=module', '-e', code], env)
}

function runNode(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.once('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`exit ${code}: ${stderr}`))))
  })
}

// The example's packages are built as a user builds them (tsc to JavaScript and declarations).
beforeAll(() => {
  for (const workspace of ['@example/billing', '@example/orders']) {
    const build = spawnSync('npm', ['run', 'build', '--workspace', workspace], { cwd: repoRoot, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`building ${workspace} failed:\n${build.stdout}${build.stderr}`)
  }
}, 120_000)

describe('examples/cross-service', () => {
  it("billing's generated files are fresh", async () => {
    const result = await generate({ cwd: billing, check: true })
    expect(result.diagnostics).toEqual([])
    expect(result.ok).toBe(true)
    expect(result.functions.map((fn) => fn.name)).toEqual(['charge', 'refund'])
  })

  it("orders type-checks against billing's client without billing's implementation in the program", () => {
    const project = join(repoRoot, 'examples/cross-service/orders/tsconfig.json')
    const check = spawnSync(tsc, ['-p', project], { cwd: repoRoot, encoding: 'utf8' })
    expect(check.stdout + check.stderr).toBe('')
    expect(check.status).toBe(0)
    const files = spawnSync(tsc, ['-p', project, '--listFilesOnly'], { cwd: repoRoot, encoding: 'utf8' }).stdout
    expect(files).toContain('examples/cross-service/billing/dist/dispatch.gen/client.gen.d.ts')
    expect(files).not.toContain('billing/src/')
    expect(files).not.toContain('billing/dist/functions/')
    expect(files).not.toContain('billing/dist/ledger')
  })

  it('types the cross-service calls fully', () => {
    const client = billingClient()
    expectTypeOf(client.charge).toBeCallableWith('cus_1', { amountCents: 5, currency: 'EUR' })
    expectTypeOf(client.charge.call).returns.toEqualTypeOf<
      Promise<{ invoiceId: string; customerId: string; total: { amountCents: number; currency: 'EUR' | 'USD' } }>
    >()
    expectTypeOf(client.refund.call).returns.toEqualTypeOf<Promise<void>>()
    // @ts-expect-error: currency is a union of literals
    void (() => client.charge('cus_1', { amountCents: 5, currency: 'GBP' }))
    // @ts-expect-error: missing argument
    void (() => client.refund())
    // @ts-expect-error: orders has no function of billing's called invoice
    void (() => client.invoice('x'))
  })

  it("dispatches to billing's endpoint without loading billing's code", async () => {
    const bodies: unknown[] = []
    const scheduler = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString()
      })
      request.on('end', () => {
        bodies.push({ path: request.url, body: JSON.parse(body) })
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"dispatchIds":["d-1"]}')
      })
    })
    await new Promise<void>((resolve) => scheduler.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = scheduler.address() as AddressInfo
      const out = await runSnippet(
        "const orders = await import('@example/orders');" +
          "const id = await orders.checkout('42', 500);" +
          'console.log(JSON.stringify({ id, ledgerLoaded: globalThis.billingLedgerLoaded === true }))',
        {
          DISPATCH_API_URL: `http://127.0.0.1:${port}`,
          DISPATCH_API_KEY: 'k',
          BILLING_ENDPOINT_URL: 'http://billing.test',
        },
      )
      expect(JSON.parse(out)).toEqual({ id: 'd-1', ledgerLoaded: false })
      expect(bodies).toEqual([
        {
          path: '/dispatch.sdk.v1.DispatchService/Dispatch',
          body: {
            calls: [
              expect.objectContaining({
                endpoint: 'http://billing.test',
                function: 'charge',
                input: expect.objectContaining({
                  value: ['cus_42', { amountCents: 500, currency: 'EUR' }, 'order checkout'],
                }),
                idempotencyKey: 'checkout-42-500',
              }),
            ],
          },
        },
      ])
    } finally {
      await new Promise((resolve) => scheduler.close(resolve))
    }
    // The control: billing's route table does load its implementation, and the flag shows it.
    const control = await runSnippet(
      "await import('@example/billing/routes'); console.log(globalThis.billingLedgerLoaded === true)",
    )
    expect(control.trim()).toBe('true')
  })
})

describe('examples/cross-service under plain node', () => {
  it("orders' built main.js dispatches a charge that billing's endpoint runs", async () => {
    const folder = await tempFolder('dispatch-cross-service-')
    const scheduler = await startTestScheduler(join(folder, 'dispatch.db'))
    const { routes } = await import('@example/billing/routes')
    const endpoint = await startEndpoint(routes, scheduler.scheduler.verificationKeyPem)
    try {
      const out = await runNode([join(repoRoot, 'examples/cross-service/orders/dist/main.js'), '7', '900'], {
        DISPATCH_API_URL: scheduler.scheduler.url,
        DISPATCH_API_KEY: scheduler.scheduler.apiKey,
        BILLING_ENDPOINT_URL: endpoint.url,
      })
      const call = await scheduler.settle(out.trim())
      expect(call.state).toBe('succeeded')
      expect(call.output?.value).toMatchObject({ customerId: 'cus_7', total: { amountCents: 900, currency: 'EUR' } })
    } finally {
      await endpoint.app.close()
      await scheduler.scheduler.close()
      await removeFolder(folder)
    }
  })
})
