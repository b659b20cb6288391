import { Ajv, type Options } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import formatsModule from 'ajv-formats'

// ajv-formats is CommonJS: under NodeNext its default import is the module object, whose
// `default` is the plugin (at run time both shapes occur depending on the loader).
const addFormats = ((formatsModule as unknown as { default?: typeof formatsModule }).default ??
  formatsModule) as unknown as (ajv: Ajv | Ajv2020) => void

const OPTIONS: Options = {
  // TypeBox 0.34 adds symbol keys and 1.x may add `~kind` keys: not keywords, so strict mode would refuse them.
  strict: false,
  // Every problem is reported (JSON path + message), not only the first.
  allErrors: true,
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
}

/** An Ajv for draft-07 schemas (what `tupleSchema` and both TypeBox majors emit), with ajv-formats. */
export function createAjv(): Ajv {
  const ajv = new Ajv(OPTIONS)
  withFormats(ajv)
  return ajv
}

/** An Ajv for 2020-12 schemas (`prefixItems` tuples), with ajv-formats. */
export function createAjv2020(): Ajv2020 {
  const ajv = new Ajv2020(OPTIONS)
  withFormats(ajv)
  return ajv
}

interface FormatDefinition {
  readonly validate: (text: string) => boolean
}

function withFormats(ajv: Ajv | Ajv2020): void {
  addFormats(ajv)
  // Every RunRequest has a creationTime, and the calls of a batch mostly share it: the last text
  // checked is answered again without parsing it (the check is a pure function of the text).
  const dateTime = ajv.formats['date-time'] as FormatDefinition | undefined
  if (dateTime !== undefined && typeof dateTime.validate === 'function') {
    const validate = dateTime.validate
    let lastText: string | undefined
    let lastValid = false
    ajv.addFormat('date-time', {
      ...dateTime,
      validate: (text: string) => {
        if (text !== lastText) {
          lastValid = validate(text)
          lastText = text
        }
        return lastValid
      },
    })
  }
}
