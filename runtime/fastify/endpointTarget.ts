import { DispatchError } from '../errors/dispatchError.js'
import { type SignedTarget, signedTarget } from '../signing/signedTarget.js'
import { runUrl } from './runUrl.js'

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
    throw new DispatchError('DSP2207', `${where} is not an http(s) URL: ${JSON.stringify(url)}`, {
      hint: 'give the URL at which the scheduler reaches this endpoint, such as https://app.example.com or http://127.0.0.1:8000/dispatch',
    })
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new DispatchError('DSP2207', `${where} carries a user name or password`, {
      hint: 'give the URL without credentials: the scheduler authenticates itself by signing each request',
    })
  }
  return signedTarget(parsed)
}
