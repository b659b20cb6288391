import { Type } from 'typebox'
import { defineRoutes, tupleSchema } from '../../runtime/route.js'

/** The function the benchmark calls: a webhook-style signature with a format, an object and an array. */
export const routes = defineRoutes({
  publish: {
    input: tupleSchema([
      Type.String({ format: 'uri' }),
      Type.Object({ event: Type.String(), attempt: Type.Integer({ minimum: 0 }), tags: Type.Array(Type.String()) }),
    ]),
    output: Type.Object({ accepted: Type.Boolean(), tags: Type.Integer() }),
    handler: (_url: string, payload: { tags: string[] }) => ({ accepted: true, tags: payload.tags.length }),
    source: 'bench/endpoint/benchRoutes.ts:6',
  },
})

/** The RunRequest every benchmark request carries (a fixed body, signed once per round). */
export const RUN_REQUEST = {
  function: 'publish',
  input: {
    '@type': 'type.googleapis.com/google.protobuf.Value',
    value: ['https://hooks.example.test/orders', { event: 'order.created', attempt: 1, tags: ['eu', 'priority'] }],
  },
  dispatchId: '01JDQ8Y4N6ZK2M3V5X7B9C1D3F',
  rootDispatchId: '01JDQ8Y4N6ZK2M3V5X7B9C1D3F',
  creationTime: '2026-11-28T06:00:00Z',
  expirationTime: '2026-11-28T07:00:00Z',
}

export const RUN_PATH = '/dispatch.sdk.v1.FunctionService/Run'
