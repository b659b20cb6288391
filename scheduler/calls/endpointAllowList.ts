import { dspError } from 'dispatch-functions/protocol'

interface Pattern {
  readonly protocol: string
  /** The host to match exactly, or (with `subdomains`) the suffix after `*.`. */
  readonly host: string
  readonly subdomains: boolean
  /** The port as `URL.port` gives it ('' for the scheme's default). */
  readonly port: string
  /** A path prefix ending in `/`, or '' for any path. */
  readonly path: string
}

function parsePattern(source: string, list: string): Pattern {
  const refuse = (why: string): never => {
    throw dspError('DSP3021', `the ${list} pattern ${JSON.stringify(source)} ${why}`, {
      hint: "give an http(s) URL prefix, e.g. 'https://app.example.com/' or 'https://*.example.com/dispatch/'",
    })
  }
  const wildcard = /^(https?:\/\/)\*\.(.*)$/i.exec(source)
  let url: URL
  try {
    url = new URL(wildcard ? `${wildcard[1]}${wildcard[2]}` : source)
  } catch {
    return refuse('is not a URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') refuse('is not an http(s) URL')
  if (url.username !== '' || url.password !== '') refuse('has a user or password')
  if (url.search !== '' || url.hash !== '' || source.includes('?') || source.includes('#')) {
    refuse('has a query or a fragment')
  }
  if (url.hostname.includes('*') || url.pathname.includes('*')) refuse("has a '*' elsewhere than a leading '*.'")
  // 'https://a.test/api' allows /api and /api/…, never /apix: a prefix ends at a path segment.
  const path = url.pathname === '/' ? '' : url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`
  return {
    protocol: url.protocol,
    host: url.hostname,
    subdomains: wildcard !== null,
    port: url.port,
    path,
  }
}

/**
 * Which endpoint URLs a scheduler calls. A pattern is an http(s) URL prefix: the scheme, host and port
 * must be equal (after URL normalisation: case, default ports), a host written `*.example.com` matches
 * any subdomain of example.com (not example.com itself), and the pattern's path, if any, must be a
 * prefix of the endpoint's path at a `/` boundary.
 */
export class EndpointAllowList {
  private readonly patterns: readonly Pattern[]

  /** `list` names the option in messages (the same patterns also pick the endpoints spoken to in protobuf). */
  constructor(patterns: readonly string[], list = 'endpoint allow-list') {
    if (patterns.length === 0) {
      throw dspError('DSP3021', `the ${list} is empty`, {
        hint: 'leave the option out, or give at least one URL prefix',
      })
    }
    this.patterns = patterns.map((p) => parsePattern(p, list))
  }

  /** Whether the (already parsed) endpoint URL is allowed. */
  allows(url: URL): boolean {
    return this.patterns.some((p) => matches(p, url))
  }

  /** Why `endpoint` is refused, or undefined when it is allowed. */
  refusal(endpoint: string): string | undefined {
    let url: URL
    try {
      url = new URL(endpoint)
    } catch {
      return `endpoint ${JSON.stringify(endpoint)} is not a URL`
    }
    return this.allows(url) ? undefined : this.refusalOf(url)
  }

  /**
   * The message for a refused endpoint URL. It names neither the patterns (callers need not learn the
   * endpoints of others) nor the URL's credentials or query.
   */
  refusalOf(url: URL): string {
    return `endpoint ${url.origin}${url.pathname} is not in this scheduler's endpoint allow-list (allowEndpoints, --allow-endpoint)`
  }
}

function matches(p: Pattern, url: URL): boolean {
  if (url.protocol !== p.protocol || url.port !== p.port) return false
  if (url.username !== '' || url.password !== '') return false
  const host = url.hostname
  if (p.subdomains ? !(host.endsWith(`.${p.host}`) && host.length > p.host.length + 1) : host !== p.host) return false
  return p.path === '' || url.pathname.startsWith(p.path) || `${url.pathname}/` === p.path
}
