/**
 * The most attempts sent in one batched request by default (the `batchDelivery` option, `--batch`):
 * enough that many calls share one signature and one HTTP exchange under load, few enough that one
 * slow request holds few calls' connections and its answer lines stay small.
 */
export const DEFAULT_BATCH_CALLS = 32
