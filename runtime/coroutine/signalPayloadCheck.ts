import { Ajv, type ValidateFunction } from 'ajv'
import formatsModule from 'ajv-formats'

// ajv-formats is CommonJS: under NodeNext its default import is the module object, whose
// `default` is the plugin (at run time both shapes occur depending on the loader).
const addFormats = ((formatsModule as unknown as { default?: typeof formatsModule }).default ??
  formatsModule) as unknown as (ajv: Ajv) => void

// The endpoint's options (runtime/endpoint/createAjv.ts): TypeBox's extra keys are not keywords.
let ajv: Ajv | undefined
const compiled = new WeakMap<object, ValidateFunction>()

/** Why `payload` does not match `schema` (JSON paths and messages), or undefined when it does. */
export function signalPayloadProblem(schema: object, payload: unknown): string | undefined {
  let validate = compiled.get(schema)
  if (validate === undefined) {
    if (ajv === undefined) {
      ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: false, useDefaults: false })
      addFormats(ajv)
    }
    validate = ajv.compile(schema)
    compiled.set(schema, validate)
  }
  if (validate(payload)) return undefined
  return (validate.errors ?? []).map((e) => `$${e.instancePath} ${e.message ?? 'is invalid'}`).join('; ')
}
