import {
  classifyError,
  currentCall,
  DispatchError,
  FunctionError,
  findCurrentCall,
  HttpResponseError,
  PermanentError,
  statusOfResponse,
  throwForResponse,
} from 'dispatch-functions'
import { describe, expect, it } from 'vitest'

describe('statusOfResponse / throwForResponse', () => {
  it.each<[number, string]>([
    [200, 'STATUS_OK'],
    [204, 'STATUS_OK'],
    [400, 'STATUS_INVALID_ARGUMENT'],
    [401, 'STATUS_UNAUTHENTICATED'],
    [403, 'STATUS_PERMISSION_DENIED'],
    [404, 'STATUS_NOT_FOUND'],
    [408, 'STATUS_TIMEOUT'],
    [429, 'STATUS_THROTTLED'],
    [500, 'STATUS_TEMPORARY_ERROR'],
    [501, 'STATUS_PERMANENT_ERROR'],
    [502, 'STATUS_TEMPORARY_ERROR'],
    [503, 'STATUS_TEMPORARY_ERROR'],
    [504, 'STATUS_TEMPORARY_ERROR'],
    [301, 'STATUS_PERMANENT_ERROR'],
    [418, 'STATUS_PERMANENT_ERROR'],
  ])('%i → %s', (code, status) => {
    const response = new Response(null, { status: code === 204 ? 204 : code })
    expect(statusOfResponse(response)).toBe(status)
    if (status === 'STATUS_OK') expect(throwForResponse(response)).toBe(response)
    else {
      let thrown: unknown
      try {
        throwForResponse(response)
      } catch (e) {
        thrown = e
      }
      expect(thrown).toBeInstanceOf(HttpResponseError)
      expect(thrown).toBeInstanceOf(FunctionError)
      expect(thrown).toBeInstanceOf(DispatchError)
      expect((thrown as HttpResponseError).status).toBe(status)
      expect((thrown as HttpResponseError).responseStatus).toBe(code)
    }
  })
})

describe('classifyError', () => {
  it('follows the cause chain', () => {
    const wrapped = new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) })
    expect(classifyError(wrapped)).toBe('STATUS_DNS_ERROR')
  })
  it('an explicit status class wins over a classifier of a base class', () => {
    const classifiers = new Map([[Error, 'STATUS_THROTTLED' as const]])
    expect(classifyError(new PermanentError('p'), { classifiers })).toBe('STATUS_PERMANENT_ERROR')
    expect(classifyError(new Error('e'), { classifiers })).toBe('STATUS_THROTTLED')
  })
  it('an AbortError is a timeout only once the call expired', () => {
    const abort = new DOMException('stop', 'AbortError')
    expect(classifyError(abort)).toBe('STATUS_TEMPORARY_ERROR')
    expect(classifyError(abort, { expired: true })).toBe('STATUS_TIMEOUT')
  })
})

describe('currentCall', () => {
  it('says where it may be called when called outside a function', () => {
    expect(findCurrentCall()).toBeUndefined()
    expect(() => currentCall()).toThrow(/outside a running dispatch function/)
  })
})
