/**
 * Restate's side of the peer benchmark, in its own process: the Restate TypeScript SDK (installed
 * into bench/.peers) serving a one-step no-op handler `Bench/noop` over HTTP/2 on 127.0.0.1.
 * Prints its port on stdout; exits when the benchmark closes its stdin.
 */
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

// The SDK uses Promise.withResolvers (Node 22); Node 20 lacks it.
const promise = Promise as unknown as { withResolvers?: () => unknown }
promise.withResolvers ??= () => {
  let resolve: unknown
  let reject: unknown
  const p = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise: p, resolve, reject }
}

const require = createRequire(new URL('../.peers/package.json', import.meta.url))
const restate = (await import(
  pathToFileURL(require.resolve('@restatedev/restate-sdk').replace(/index\.cjs$/, 'index.js')).href
)) as any
const bench = restate.service({
  name: 'Bench',
  handlers: {
    noop: async (ctx: any) => {
      await ctx.run('step', () => 'done')
      return 'ok'
    },
  },
})
const port = Number(process.env['BENCH_RESTATE_SERVICE_PORT'] ?? 19080)
await restate.serve({ services: [bench], port })
process.stdout.write(`${port}\n`)
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
