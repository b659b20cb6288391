import { InvalidArgumentError } from 'commander'
import { type DispatchError, MAX_BATCH_CALLS } from 'dispatch-functions/protocol'
import { DEFAULT_BATCH_CALLS, EndpointAllowList } from '../scheduler/internal.js'

/** `--port`: an integer 0..65535 (0: any free port). */
export function parsePort(value: string): number {
  const port = Number(value)
  if (!/^[0-9]+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a port: use an integer from 0 to 65535`)
  }
  return port
}

/** An http(s) URL flag. */
export function parseHttpUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a URL: use http://host:port`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not an http(s) URL`)
  }
  return value.replace(/\/+$/, '')
}

/** A positive integer flag. */
export function parsePositiveInt(value: string): number {
  const n = Number(value)
  if (!/^[0-9]+$/.test(value) || n < 1)
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a positive integer`)
  return n
}

/** `calls list --limit`: a whole number from 1 to 1000 (what the List method accepts). */
export function parseListLimit(value: string): number {
  const n = parsePositiveInt(value)
  if (n > 1000) throw new InvalidArgumentError(`${n} is over 1000, the most one page holds: page with --cursor`)
  return n
}

/** A duration flag: `500ms`, `30s`, `5m`, `2h`. */
export function parseDurationFlag(value: string): string {
  if (!/^[0-9]+(\.[0-9]+)?(ms|s|m|h|d)$/.test(value)) {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a duration: use 500ms, 30s, 5m or 2h`)
  }
  return value
}

/** `--allow-endpoint PATTERN`, repeatable: each pattern is checked, and added to the ones before. */
export function collectAllowEndpoint(value: string, previous: string[] | undefined): string[] {
  try {
    new EndpointAllowList([value])
  } catch (error) {
    const { code, message, hint } = error as DispatchError
    throw new InvalidArgumentError(`${code}: ${message}; ${hint}`)
  }
  return [...(previous ?? []), value]
}

/** `--proto-endpoint PATTERN`, repeatable: endpoints delivered to in binary protobuf (the Dispatch SDKs' codec). */
export function collectProtoEndpoint(value: string, previous: string[] | undefined): string[] {
  try {
    new EndpointAllowList([value], 'protoEndpoints')
  } catch (error) {
    const { code, message, hint } = error as DispatchError
    throw new InvalidArgumentError(`${code}: ${message}; ${hint}`)
  }
  return [...(previous ?? []), value]
}

export const PROTO_ENDPOINT_HELP =
  'deliver to endpoints under this http(s) URL prefix in binary protobuf (application/proto), as Dispatch SDK (Python, Go) endpoints expect (repeatable; default: JSON to every endpoint)'

export const ALLOW_ENDPOINT_HELP =
  "only call endpoints under this http(s) URL prefix, e.g. 'https://app.example.com/' or 'https://*.example.com/' (repeatable; default: any endpoint)"
/** `--retention`: a duration (`7d`, `12h`), or `0` / `off` to keep finished calls forever. */
export function parseRetentionFlag(value: string): string | false {
  if (value === '0' || value === 'off') return false
  if (!/^[0-9]+(\.[0-9]+)?(ms|s|m|h|d)$/.test(value)) {
    throw new InvalidArgumentError(
      `${JSON.stringify(value)} is not a retention: use a duration such as 7d or 12h, or off`,
    )
  }
  return value
}

/** `--batch N`: the most attempts in one signed request to an endpoint that takes batches; 1 turns batching off. */
export function parseBatchFlag(value: string): number {
  const n = Number(value)
  if (!/^[0-9]+$/.test(value) || n < 1 || n > MAX_BATCH_CALLS) {
    throw new InvalidArgumentError(
      `${JSON.stringify(value)} is not a batch size: use a whole number from 1 to ${MAX_BATCH_CALLS} (1: one call per request)`,
    )
  }
  return n
}

export const BATCH_HELP = `the most calls sent in one signed request to an endpoint that advertises batches (this project's endpoints do), answers streamed back as each finishes; nothing waits to fill a batch (1 to ${MAX_BATCH_CALLS}; default ${DEFAULT_BATCH_CALLS}; 1: one call per request)`
