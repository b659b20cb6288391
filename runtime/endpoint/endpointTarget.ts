import { dspError } from '../../schemas/errors/dspError.js'
import { runUrl } from '../../schemas/runUrl.js'
import { environmentVariable } from '../portable/environment.js'
import { type SignedTarget, signedTarget } from '../signing/signedTarget.js'
import type { EndpointOptions } from './endpointOptions.js'

/**
 * The `@authority` and `@path` a signature must cover to run on the endpoint at `url` (its public
 * URL, path prefix included): what the scheduler signs when it is given that URL. Throws DSP2207,
 * naming `where` the URL came from, when it is not an http(s) URL.
 */
export function endpointTarget(url: string, where: string): SignedTarget {
  let parsed: URL | undefined
  try {
    parsed = runUrl(url)
  } catch {
    parsed = undefined
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw dspError('DSP2207', `${where} is not an http(s) URL: ${JSON.stringify(url)}`, {
      hint: 'give the URL at which the scheduler reaches this endpoint, such as https://app.example.com or http://127.0.0.1:8000/dispatch',
    })
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw dspError('DSP2207', `${where} carries a user name or password`, {
      hint: 'give the URL without credentials: the scheduler authenticates itself by signing each request',
    })
  }
  return signedTarget(parsed)
}

/**
 * This endpoint's `@authority` and `@path`, from `endpointUrl` or DISPATCH_ENDPOINT_URL: checked at
 * registration when it is a string, at the first request when it is a function.
 */
export function resolveEndpointTarget(
  option: EndpointOptions['endpointUrl'],
  framework = 'dispatchPlugin',
): () => SignedTarget {
  const fromEnv = option === undefined
  const url = option ?? (environmentVariable('DISPATCH_ENDPOINT_URL') || undefined)
  const where = fromEnv ? 'DISPATCH_ENDPOINT_URL' : 'the endpointUrl option'
  if (url === undefined) {
    throw dspError(
      'DSP2206',
      `${framework} verifies signatures but does not know this endpoint's own URL, so it cannot tell a request signed for it from one signed for another endpoint`,
      {
        hint: 'set DISPATCH_ENDPOINT_URL (`dispatch run` does) or the endpointUrl option to the URL the scheduler is given for this endpoint, path prefix included',
      },
    )
  }
  if (typeof url === 'string') {
    const target = endpointTarget(url, where)
    return () => target
  }
  if (typeof url !== 'function') {
    throw dspError('DSP2207', 'the endpointUrl option must be a URL string or a function returning one', {
      hint: 'pass the URL the scheduler is given for this endpoint',
    })
  }
  let target: SignedTarget | undefined
  return () => {
    if (target !== undefined) return target
    let given: unknown
    try {
      given = url()
    } catch (error) {
      throw dspError('DSP2207', `the endpointUrl function threw: ${(error as Error)?.message ?? error}`, {
        hint: 'return the URL the scheduler is given for this endpoint; it is called at the first request',
      })
    }
    target = endpointTarget(String(given), 'the URL the endpointUrl function returned')
    return target
  }
}
