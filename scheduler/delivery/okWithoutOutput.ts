/**
 * The answer of this package's endpoints for a function that returned nothing, byte for byte: what
 * parsing and checking it would decide (succeeded, no output) is known without doing either.
 */
export const OK_WITHOUT_OUTPUT = '{"status":"STATUS_OK","exit":{"result":{}}}'
