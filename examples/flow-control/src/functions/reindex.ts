import type { Static } from 'typebox'
import { recordRun } from '../journal.js'
import type { Edit } from '../schemas.js'

/**
 * Rebuilds a user's search index. A burst of edits makes one rebuild, with the last edit's input, 2 s
 * after the burst ends — and within 10 s of its first edit however long the burst lasts.
 * @debounce 2s key=userId keep=last max=10s
 */
export async function reindex(edit: Static<typeof Edit>): Promise<void> {
  await recordRun('reindex', edit.userId, edit, async () => {})
}
