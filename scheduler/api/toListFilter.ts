import { type BulkCallsRequest, checkTimestamp, type ListCallsRequest } from 'dispatch-functions/protocol'
import { ConnectRefusal } from '../calls/connectError.js'
import { REFUSAL_CODES } from '../calls/toNewCalls.js'
import type { ListFilter } from '../store/store.js'

/** The filter fields of a List or bulk request, as the store takes them (without paging). */
export type CallFilterFields = Omit<ListFilter, 'limit' | 'after' | 'maxMessageBytes' | 'maxPageBytes'>

function instant(value: string, field: string): number {
  const checked = checkTimestamp(value)
  if (checked.problem !== undefined)
    throw new ConnectRefusal('invalid_argument', `${REFUSAL_CODES.timeRange}: ${field} ${checked.problem}`)
  return checked.ms
}

/** The store filter a request's filter fields stand for; a timestamp that is not one is refused. */
export function toListFilter(request: ListCallsRequest | BulkCallsRequest): CallFilterFields {
  return {
    ...(request.state !== undefined ? { state: request.state } : {}),
    ...(request.function !== undefined ? { function: request.function } : {}),
    ...(request.endpoint !== undefined ? { endpoint: request.endpoint } : {}),
    ...(request.fairnessKey !== undefined ? { fairnessKey: request.fairnessKey } : {}),
    ...(request.parentDispatchId !== undefined ? { parentDispatchId: request.parentDispatchId } : {}),
    ...(request.createdAfter !== undefined ? { createdFrom: instant(request.createdAfter, 'createdAfter') } : {}),
    ...(request.createdBefore !== undefined ? { createdBefore: instant(request.createdBefore, 'createdBefore') } : {}),
    ...(request.search !== undefined ? { search: request.search } : {}),
  }
}
