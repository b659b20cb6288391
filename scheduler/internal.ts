/**
 * @module
 * What the `dispatch` CLI takes from the scheduler beside {@link ../index.ts}: checks of its flags.
 * Nothing here loads the server, the stores or their drivers, so the CLI can check its flags
 * without them (it imports the scheduler's entry point only when a command starts a scheduler).
 */

/** Which endpoints the scheduler may call (`--allow-endpoint`): patterns checked and matched. */
export { EndpointAllowList } from './calls/endpointAllowList.js'
/** The most attempts in one batched request when `--batch` is not given. */
export { DEFAULT_BATCH_CALLS } from './delivery/defaultBatchCalls.js'
/** Reads a key or URL file, refusing one other users can read. */
export { readKeyFile } from './keys/checkKeyFile.js'
/** A PostgreSQL URL checked, redacted for messages, and a schema name quoted as an identifier. */
export { checkPostgresUrl, quoteSchemaName, redactPostgresUrl } from './store/postgresUrl.js'
