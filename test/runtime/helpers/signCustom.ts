import { createHash, type KeyObject, sign } from 'node:crypto'

/** What a hand-built (possibly malformed) signature is made of; an independent signer for refusal tests. */
export interface CustomSignature {
  method?: string
  path: string
  authority: string
  headers: Record<string, string>
  components?: string[]
  /** Raw parameter text after the component list, such as `;created=1;keyid="default"`. */
  params: string
  label?: string
  privateKey: KeyObject
}

/** Signs whatever components and parameters are given, building the RFC 9421 base by hand. */
export function signCustom(s: CustomSignature): { 'signature-input': string; signature: string } {
  const components = s.components ?? ['@method', '@path', '@authority', 'content-type', 'content-digest']
  const list = `(${components.map((c) => `"${c}"`).join(' ')})${s.params}`
  const lines = components.map((c) => {
    const value =
      c === '@method' ? (s.method ?? 'POST') : c === '@path' ? s.path : c === '@authority' ? s.authority : s.headers[c]
    return `"${c}": ${value}`
  })
  const base = [...lines, `"@signature-params": ${list}`].join('\n')
  const label = s.label ?? 'dispatch'
  return {
    'signature-input': `${label}=${list}`,
    signature: `${label}=:${sign(null, Buffer.from(base), s.privateKey).toString('base64')}:`,
  }
}

export function digestOf(algorithm: 'sha256' | 'sha384' | 'sha512', body: string | Buffer): string {
  const name = algorithm.replace('sha', 'sha-')
  return `${name}=:${createHash(algorithm).update(body).digest('base64')}:`
}
