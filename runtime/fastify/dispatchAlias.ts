import type { FastifyInstance } from 'fastify'
import { dispatchPlugin } from './dispatchPlugin.js'
import type { DispatchPluginOptions } from './dispatchPluginOptions.js'

/**
 * The seed SDK's shape, `new Dispatch(app, { routes })`: a thin alias that registers
 * {@link dispatchPlugin}. Prefer `await app.register(dispatchPlugin, { routes })`, which reports a
 * bad configuration where it is awaited; here it surfaces at `app.ready()`/`app.listen()`.
 */
export class Dispatch {
  readonly app: FastifyInstance

  constructor(app: FastifyInstance, options: DispatchPluginOptions & { prefix?: string }) {
    this.app = app
    void app.register(dispatchPlugin, options)
  }
}
