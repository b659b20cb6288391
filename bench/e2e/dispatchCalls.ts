import { sleep } from './benchArgs.js'

/**
 * Sends one Dispatch request of no-op calls (`inputs`, one array of arguments each) to a scheduler's
 * API; on back-pressure (429) waits as told and sends the same batch again.
 */
export async function dispatchCalls(
  api: { url: string; apiKey: string },
  endpoint: string,
  inputs: readonly unknown[][],
): Promise<void> {
  const body = JSON.stringify({
    calls: inputs.map((value) => ({
      endpoint,
      function: 'noop',
      input: { '@type': 'type.googleapis.com/google.protobuf.Value', value },
    })),
  })
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${api.apiKey}` }
  for (;;) {
    const response = await fetch(`${api.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
      method: 'POST',
      headers,
      body,
    })
    if (response.status === 200) {
      await response.arrayBuffer()
      return
    }
    if (response.status === 429) {
      const wait = Number(response.headers.get('retry-after') ?? '1') * 1000
      await response.arrayBuffer()
      await sleep(wait)
      continue
    }
    throw new Error(`Dispatch answered ${response.status}: ${await response.text()}`)
  }
}
