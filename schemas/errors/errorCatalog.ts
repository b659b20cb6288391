/**
 * The codes a person can meet: what is catalogued here is what docs/errors.md lists (its tables are
 * generated from this one, `npm run docs:errors`), and a code that is not catalogued cannot be raised
 * (`DspCode` is the union of the keys). Codes are stable: a code is never renumbered nor reused.
 * `summary` and `hint` are the "when" and "what to do" of the docs; a raise site names the specifics
 * in its message and may give a hint more specific than the catalogued one.
 */

/** The part of dispatch-functions that raises a code: each is a table of docs/errors.md. */
export type DspPart = 'generator' | 'client' | 'endpoint' | 'scheduler' | 'postgres' | 'cli' | 'testing'

/** The Connect error codes dispatch-functions answers with (the scheduler's API, an endpoint's refusals). */
export type ConnectCode =
  | 'invalid_argument'
  | 'failed_precondition'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'already_exists'
  | 'resource_exhausted'
  | 'internal'
  | 'unavailable'

/** One catalogued code. */
export interface ErrorCatalogEntry {
  readonly part: DspPart
  /** When the error happens (Markdown, as docs/errors.md shows it). */
  readonly summary: string
  /** What the person who meets it can do (Markdown, as docs/errors.md shows it). */
  readonly hint: string
  /** The HTTP status the error is answered with, or that it reports, where one applies. */
  readonly httpStatus?: number
  /** The Connect code of the answer, where the error travels as a Connect JSON error. */
  readonly connectCode?: ConnectCode
}

const ENTRIES = {
  DSP1001: {
    part: 'generator',
    summary: 'the config (`dispatch.config.json` or package.json `"dispatch"`) is invalid; the message names the field',
    hint: 'fix that field (`functions`: non-empty array of relative globs; `out`: relative folder)',
  },
  DSP1002: {
    part: 'generator',
    summary: 'the config file is not valid JSON or cannot be read',
    hint: 'fix the JSON',
  },
  DSP1003: {
    part: 'generator',
    summary: 'a dispatch function mixes schema-typed and untyped parameters',
    hint: 'type every parameter `Static<typeof Schema>`, or stop exporting it',
  },
  DSP1004: {
    part: 'generator',
    summary: 'a destructured parameter',
    hint: 'take a named parameter, destructure in the body',
  },
  DSP1005: {
    part: 'generator',
    summary: 'a rest parameter',
    hint: 'one parameter typed by an array or tuple schema',
  },
  DSP1006: {
    part: 'generator',
    summary: 'a parameter or output schema is not a top-level `const` built with `Type.*` (or cannot be found)',
    hint: '`export const X = Type.…(…)` in a file of the package, imported by name',
  },
  DSP1007: {
    part: 'generator',
    summary: 'the schema const is not exported',
    hint: 'export it: the route table imports it',
  },
  DSP1008: {
    part: 'generator',
    summary: 'a default export with schema-typed parameters',
    hint: 'export it by name',
  },
  DSP1009: {
    part: 'generator',
    summary: 'two dispatch functions with the same name (both places are named)',
    hint: 'rename one',
  },
  DSP1010: {
    part: 'generator',
    summary: 'a function name outside `^[a-zA-Z_][a-zA-Z0-9_<>.]*$`',
    hint: 'rename it',
  },
  DSP1011: {
    part: 'generator',
    summary: 'no return type, or one that is neither `void` nor a schema type',
    hint: 'annotate `Promise<void>` or `Promise<Static<typeof Output>>`',
  },
  DSP1012: {
    part: 'generator',
    summary: 'a dispatch function with type parameters',
    hint: 'remove them',
  },
  DSP1013: {
    part: 'generator',
    summary: '`dispatch gen --check`: generated files are stale or orphaned',
    hint: 'run the command in the hint',
  },
  DSP1014: {
    part: 'generator',
    summary: '`dispatch gen` usage: `--cwd` is not a directory, or `--check` with `--watch` (exit 2)',
    hint: 'fix the flags',
  },
  DSP1015: {
    part: 'generator',
    summary: 'a parameter or return type holds schema types without being one (`Static<typeof Id>[]`, a union of them)',
    hint: 'declare one schema for the whole type (`Type.Array(Id)`) and use `Static<typeof Ids>`',
  },
  DSP1016: {
    part: 'generator',
    summary: 'an optional parameter comes before a required one',
    hint: 'make the later parameters optional too, or reorder them',
  },
  DSP1017: {
    part: 'generator',
    summary:
      '`dispatch gen` found no dispatch function (the globs match no file, or no matched file exports one); nothing is written',
    hint: 'fix the `functions` globs, run from the package root, or `npx dispatch init`',
  },
  DSP1030: {
    part: 'generator',
    summary:
      'a flow-control tag (`@priority`, `@concurrency`, `@rateLimit`, `@debounce`, `@schedule`) has a malformed value, or is given twice',
    hint: 'write it as docs/flow-control.md shows (`@priority 5`, `@concurrency 1 key=accountId`, `@rateLimit 10/1m`, `@debounce 5s key=userId`)',
  },
  DSP1031: {
    part: 'generator',
    summary: 'a flow-control tag that this version of the scheduler does not enforce yet',
    hint: 'remove the tag: docs/flow-control.md lists the options enforced today',
  },
  DSP1032: {
    part: 'generator',
    summary:
      '`@schedule` on a function with a required parameter and no `input=`: a tick has no caller to give the arguments',
    hint: 'give the arguments with `input=[...]` (a JSON array; it takes the rest of the line), or make the parameters optional',
  },
  DSP2001: {
    part: 'client',
    summary: 'a `DISPATCH_*` variable the client needs is not set',
    hint: 'run the program under `npx dispatch run -- <command>`, or first `eval "$(npx dispatch env)"` in the folder where `dispatch run` runs',
  },
  DSP2002: {
    part: 'client',
    summary: 'the scheduler cannot be reached',
    hint: 'start it (`npx dispatch run -- <your app>`), or `eval "$(npx dispatch env)"` to point `DISPATCH_API_URL` at the running one',
  },
  DSP2003: {
    part: 'client',
    summary: 'the scheduler refused a request (the HTTP status and its message are included)',
    hint: '401: `eval "$(npx dispatch env)"` for the right `DISPATCH_API_KEY`; 400: the message names the bad call',
  },
  DSP2004: {
    part: 'client',
    summary: "the scheduler's answer is not a DispatchResponse",
    hint: 'point `DISPATCH_API_URL` at a dispatch-functions scheduler: `eval "$(npx dispatch env)"`',
  },
  DSP2006: {
    part: 'client',
    summary:
      "a call awaited with `.call(...)` failed or was cancelled (`CallFailedError`: `errorType`, `errorMessage`; inside a coroutine the child's error)",
    hint: 'catch it to handle the failure; inspect the call with `dispatch calls get ID`',
  },
  DSP2010: {
    part: 'client',
    summary:
      '`.call(...args, options)` inside a running dispatch function set an option other than `expiration` and `detached` (a child call carries only those)',
    hint: 'leave the option out, or dispatch the call with `dispatchClient.f(...args, options)` and keep its id',
  },
  DSP2011: {
    part: 'client',
    summary:
      "a call's flow key (`key=` of `@concurrency`, `@rateLimit` or `@debounce`) reads an object, an array or a text over 256 characters from its arguments",
    hint: 'point `key=` at a string, number or boolean field of the input (docs/flow-control.md)',
  },
  DSP2101: {
    part: 'client',
    summary: 'a duration option is not a duration',
    hint: "use milliseconds or `'500ms'`, `'10s'`, `'5m'`, `'2h'`, `'1d'`",
    httpStatus: 400,
  },
  DSP2102: {
    part: 'client',
    summary: 'the scheduler refused a request body over its size limit (HTTP 413; not retried)',
    hint: "dispatch fewer calls per batch, pass large inputs by reference, or raise the scheduler's `bodyLimit`",
    httpStatus: 413,
    connectCode: 'invalid_argument',
  },
  DSP2103: {
    part: 'client',
    summary:
      'the scheduler refused an idempotency key reused with another input (HTTP 409 `already_exists`; the message names the call holding the key)',
    hint: 'reuse a key only to repeat the same call with the same input; give a new input a new key',
    httpStatus: 409,
    connectCode: 'already_exists',
  },
  DSP2201: {
    part: 'endpoint',
    summary: '`DISPATCH_VERIFICATION_KEY` (or the `verificationKey` option) is not an Ed25519 public key',
    hint: 'give a PEM SPKI key (literal `\\n` allowed) or base64 of the raw 32 bytes; the value is never printed',
  },
  DSP2202: {
    part: 'endpoint',
    summary: '`DISPATCH_SIGNING_KEY` is not an Ed25519 private key',
    hint: 'give a PEM PKCS#8 key (literal `\\n` allowed) or base64 of the 32-byte seed; the value is never printed',
  },
  DSP2203: {
    part: 'endpoint',
    summary: 'a route of the route table has no handler function',
    hint: 'build route tables with `defineRoutes()` or regenerate them (`npm run dispatch:gen`)',
  },
  DSP2204: {
    part: 'endpoint',
    summary: "a route's input or output schema does not compile",
    hint: 'regenerate the route table; a hand-written schema must be JSON Schema draft-07',
  },
  DSP2205: {
    part: 'endpoint',
    summary:
      'an endpoint adapter (`dispatchPlugin`, `createNodeHandler`, `createFetchHandler`) was created without `routes`, with a bad `bodyLimit` or `maxJournalBytes`, or with a `metrics` option that is not a Prometheus registry (or whose registry already holds a `dispatch_endpoint_*` name)',
    hint: 'pass `{ routes }`, a positive integer `bodyLimit` in bytes, and for `metrics` a prom-client Registry',
  },
  DSP2206: {
    part: 'endpoint',
    summary:
      'an endpoint adapter verifies signatures but knows no URL of its own (neither `endpointUrl` nor `DISPATCH_ENDPOINT_URL`), so it cannot tell a request signed for it from one signed for another endpoint',
    hint: 'set `DISPATCH_ENDPOINT_URL` (`dispatch run` does) or `endpointUrl` to the URL the scheduler is given for this endpoint, path prefix included; on port 0, `endpointUrl: () => app.listeningOrigin`',
  },
  DSP2207: {
    part: 'endpoint',
    summary:
      '`endpointUrl` or `DISPATCH_ENDPOINT_URL` is not an http(s) URL, or carries a user name or password (at registration; from an `endpointUrl` function, a 500 answer at the first request)',
    hint: "give the endpoint's public URL, such as `https://app.example.com/dispatch`",
  },
  DSP2208: {
    part: 'endpoint',
    summary:
      'an endpoint adapter has no verification key: neither `verificationKey` nor `DISPATCH_VERIFICATION_KEY` is set, or it is empty',
    hint: "set `DISPATCH_VERIFICATION_KEY` to the scheduler's public key (`dispatch run` does), or pass `verificationKey: false` for tests and trusted networks",
  },
  DSP2209: {
    part: 'endpoint',
    summary: 'a `replayCache` or `serverTimeouts` option is not a positive integer (entries, ms)',
    hint: 'fix the option, or leave it out for the default; `false` turns either off',
  },
  DSP2210: {
    part: 'endpoint',
    summary: '`currentCall()` was called outside a running dispatch function',
    hint: 'call it from a function the endpoint runs, or use `findCurrentCall()`',
  },
  DSP2231: {
    part: 'endpoint',
    summary:
      "a durable coroutine's journal grew over `maxJournalBytes` (8 MiB by default); the call fails with `STATUS_PERMANENT_ERROR`",
    hint: 'pass large data by reference (store it, pass a key), or split the work into child functions that return less',
  },
  DSP2240: {
    part: 'endpoint',
    summary:
      'warning on stderr, once per process: verification is off (`verificationKey: false`), so anyone who reaches the endpoint can run its functions',
    hint: 'only in tests or where nothing but the scheduler reaches the application; give a key otherwise',
  },
  DSP2241: {
    part: 'endpoint',
    summary:
      "answered 403 `permission_denied`: the signature does not verify for this endpoint's own URL (signed for another endpoint and forwarded, or changed; the message names the URL expected)",
    hint: 'check that `DISPATCH_ENDPOINT_URL` / `endpointUrl` is the URL the scheduler is given for this endpoint, and the key',
    httpStatus: 403,
    connectCode: 'permission_denied',
  },
  DSP2242: {
    part: 'endpoint',
    summary:
      'answered 401 `unauthenticated`: a replay, the same signature this endpoint already accepted within the five-minute window',
    hint: 'nothing when it is an attack; the scheduler signs every delivery afresh, so its retries never meet it',
    httpStatus: 401,
    connectCode: 'unauthenticated',
  },
  DSP2243: {
    part: 'endpoint',
    summary:
      'a resumed coroutine was handed a result that answers no call its journal sent and still waits for (unknown correlation id, not a call, already answered); the turn ends `STATUS_INCOMPATIBLE_STATE`',
    hint: 'nothing: the scheduler restarts the call from its input; a repeat means a forged or misrouted `PollResult`',
  },
  DSP2250: {
    part: 'endpoint',
    summary:
      'answered 500 by the node:http handler: a body parser (`express.json()`, koa-bodyparser) read the body first, so its signed bytes are gone; details on stderr',
    hint: 'mount the handler before body parsers, or give the parser only your own routes',
  },
  DSP2260: {
    part: 'endpoint',
    summary:
      "a durable `step(name, fn)` failed after its attempts (or with an error its retries do not cover): a `StepFailedError` with the error's type and message is thrown into the function; uncaught, the call fails with `STATUS_PERMANENT_ERROR`",
    hint: "catch `StepFailedError` to handle it, or widen the step's `attempts` / `retry`; the step ran `fn` already, so make its effect idempotent",
  },
  DSP2261: {
    part: 'endpoint',
    summary:
      '`step(name, fn, options)` was given an empty name, a `fn` that is not a function, or options out of range; or `patched(id)` an empty id',
    hint: "a non-empty name, a function, `attempts` an integer >= 1, durations such as `'500ms'` or milliseconds, `multiplier` >= 1",
  },
  DSP2262: {
    part: 'endpoint',
    summary:
      "a durable step's `fn` returned something that is not JSON (a function, a `bigint`, a cycle): the step fails at once, without retries",
    hint: 'return plain JSON data (a Date becomes its ISO string); the journal keeps what the step returned',
  },
  DSP2263: {
    part: 'endpoint',
    summary:
      'a durable call (`.call(...)`) was made inside a `step`: a step is not replayed, so what it starts cannot be journaled',
    hint: 'make the call beside the step, in the function itself, or dispatch it with `dispatchClient.f(...)` and an idempotency key',
  },
  DSP2264: {
    part: 'endpoint',
    summary:
      '`waitForSignal(name, { timeout })` timed out: a `SignalTimeoutError` is thrown into the function; uncaught, the call fails with `STATUS_PERMANENT_ERROR`',
    hint: 'catch `SignalTimeoutError` to go on without the signal, or give a longer timeout',
  },
  DSP2265: {
    part: 'endpoint',
    summary:
      '`waitForSignal` was called outside a running dispatch function (or inside a step), where no call can receive a signal',
    hint: 'wait for signals in the function the endpoint runs; send them with `createCallServiceClient().signal(id, name, payload)`',
  },
  DSP2266: {
    part: 'endpoint',
    summary:
      "a resumed coroutine cannot replay its journal (its code or declared version changed, it diverged, or the state is not one of this endpoint's): answered `STATUS_INCOMPATIBLE_STATE`, the scheduler restarts the call from its input; logged as a warning",
    hint: 'declare a `version` on the route and ship new logic behind `patched(id)` to keep in-flight runs (docs/coroutines.md)',
  },
  DSP2267: {
    part: 'endpoint',
    summary:
      'a coroutine carried on after its turn suspended: it was awaiting something not durable (I/O, a plain timer) beside its durable operations, so that work runs again on the replay; logged as a warning, once per turn',
    hint: "put the I/O in a step (`await step('query', () => db.query(...))`): it runs once, in the turn, and its result is journaled (docs/coroutines.md)",
  },
  DSP2270: {
    part: 'endpoint',
    summary:
      'answered 400 by an endpoint: a `Content-Type: application/proto` body is not a binary RunRequest (truncated, a wrong wire type, a length past the end, an Any of a well-known type that does not decode)',
    hint: 'the sender must encode a dispatch.sdk.v1.RunRequest (schemas/proto), or send JSON',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP2271: {
    part: 'endpoint',
    summary:
      'answered 400 by an endpoint: a batch (`Content-Type: application/vnd.dispatch.batch+json`) whose body is not JSON; nothing of it ran',
    hint: 'the sender must send `{"calls":[RunRequest, …]}` in JSON (docs/protocol.md, "Batched delivery"); the scheduler then sends the calls one by one',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP2272: {
    part: 'endpoint',
    summary:
      'answered 400 by an endpoint: a batch body that is JSON but not `{"calls":[…]}` (not an object, no `calls`, `calls` not an array); nothing of it ran',
    hint: 'send the RunRequests of the batch as an array in `calls`',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP2273: {
    part: 'endpoint',
    summary:
      'answered 400 by an endpoint: a batch with no calls, or with more than the endpoint advertises in its `dispatch-batch` header (256); nothing of it ran',
    hint: 'send 1 to the advertised number of calls in one batch; the scheduler never sends more than the header says',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP2301: {
    part: 'endpoint',
    summary:
      'a function threw a `FunctionError` (`PermanentError`, `ThrottledError`, `HttpResponseError`, ...) to choose its status',
    hint: "nothing: it is how a function reports a failure; the call's status says whether it is retried",
  },
  DSP3001: {
    part: 'scheduler',
    summary: 'the SQLite database cannot be opened or created',
    hint: 'check the path (`--db`), that its folder can be created and that this user may write to it',
  },
  DSP3002: {
    part: 'scheduler',
    summary: 'the database is in use by another scheduler process (SQLite is held by one at a time)',
    hint: 'stop the other scheduler, or give this one its own database',
  },
  DSP3003: {
    part: 'scheduler',
    summary: "the database's schema version is newer than this version of dispatch-functions knows",
    hint: 'upgrade dispatch-functions, or use another database file',
  },
  DSP3004: {
    part: 'scheduler',
    summary: 'a key file beside the database (`<db>.api-key`, `<db>.signing-key.pem`) cannot be read or created',
    hint: "fix the folder's permissions, or set `DISPATCH_API_KEY` and `DISPATCH_SIGNING_KEY`",
  },
  DSP3005: {
    part: 'scheduler',
    summary:
      'a scheduler option is not usable (the message names it and the value given): a number out of its range, a `batchDelivery` that is not `{ maxCalls: 1..256 }` or `false`, or no `dbPath` where the keys need one',
    hint: 'pass a finite number >= 0 (`maxAttempts`: a whole number >= 1; `batchDelivery.maxCalls`: 1 to 256), and `dbPath` unless `postgres` or a PostgresStore holds the keys',
  },
  DSP3007: {
    part: 'scheduler',
    summary:
      'answered by the API (503 `unavailable`, with `Retry-After`): the store cannot write or be reached now — a full disk, a read-only or failing file system, a lost or overloaded PostgreSQL (the cause is in the message); nothing was acknowledged',
    hint: 'free space or fix the file system or database; the client sends the request again after `Retry-After`, with its idempotency keys',
    httpStatus: 503,
    connectCode: 'unavailable',
  },
  DSP3010: {
    part: 'scheduler',
    summary:
      "answered by the API (400 `invalid_argument`): a Duration or timestamp is out of range: `delay`, `expiration`, `notBefore`, Wait's `timeout` (the message names the call, the field and the range)",
    hint: 'send a value in the range docs/scheduler.md gives ("Limits on durations and timestamps")',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP3011: {
    part: 'scheduler',
    summary:
      'answered by the API (400): a NUL character (`\\u0000`) in `endpoint`, `version`, `idempotencyKey`, `fairnessKey`, or in an id, filter or key of a CallService request',
    hint: 'remove it: no store keeps it',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP3012: {
    part: 'scheduler',
    summary:
      "answered by the API (400): `endpoint`, `function` and `fairnessKey` are over 2,400 bytes together in UTF-8 (the stores index them as the call's queue)",
    hint: 'use a shorter URL or fairness key',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP3013: {
    part: 'scheduler',
    summary:
      'answered by the API (400): `correlationId` is not an exact uint64 (a string over 18446744073709551615, or a number beyond 2^53)',
    hint: 'send it as a decimal string',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP3014: {
    part: 'scheduler',
    summary:
      'answered by the API (400): a `Content-Type: application/proto` body is not a binary protobuf message of the method (truncated, a wrong wire type, a length past the end, an Any of a well-known type that does not decode)',
    hint: 'send the message encoded by a protobuf library from the dispatch.sdk.v1 definitions (schemas/proto), or send JSON',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP3015: {
    part: 'scheduler',
    summary:
      'a line of an endpoint\'s batch answer is not an answer line `{"i":index,"code":status,"answer":…}` (not JSON, cut off, another shape): it is skipped, and the calls left without an answer when the stream ends are retried (`STATUS_TEMPORARY_ERROR`) with this error',
    hint: 'the endpoint does not speak the batch extension as docs/protocol.md ("Batched delivery") has it: fix or upgrade it, or start the scheduler with `--batch 1` to send it one call per request',
  },
  DSP3016: {
    part: 'scheduler',
    summary:
      "a line of an endpoint's batch answer names a call the batch does not have (an index past its end) or one already answered: it is skipped (the first answer stands), and the calls left without an answer when the stream ends are retried (`STATUS_TEMPORARY_ERROR`) with this error",
    hint: 'the endpoint numbered its answers wrongly: each line carries the index of its call in `calls`, once; fix or upgrade it, or use `--batch 1`',
  },
  DSP3017: {
    part: 'scheduler',
    summary:
      "an endpoint's batch answer ended before this call's line (the endpoint closed the stream early): the call is retried (`STATUS_TEMPORARY_ERROR`), as after any broken connection",
    hint: "nothing when it is rare (an endpoint restarting); if it repeats, look at the endpoint's log for the batch it stopped answering",
  },
  DSP3020: {
    part: 'scheduler',
    summary:
      'an `apiTimeouts` option is out of range: not a whole number of ms >= 1, `headersMs` over `requestMs`, or `idleMs` neither 0 nor over 300000',
    hint: 'fix the named option (docs/scheduler.md, "Security")',
  },
  DSP3021: {
    part: 'scheduler',
    summary:
      'an endpoint allow-list pattern (`allowEndpoints`, `--allow-endpoint`) is not an http(s) URL prefix, has a query, user or misplaced `*`, or the list is empty',
    hint: 'give patterns like `https://app.example.com/` or `https://*.example.com/api`',
  },
  DSP3022: {
    part: 'scheduler',
    summary:
      'answered by the API (409 `already_exists`): a call of the batch reused an idempotency key of its function and endpoint, within the window, with another input; nothing was stored',
    hint: 'send the same input to repeat the call, or use a new key for a new call',
    httpStatus: 409,
    connectCode: 'already_exists',
  },
  DSP3040: {
    part: 'scheduler',
    summary:
      'a key file (`<db>.api-key`, `<db>.signing-key.pem`, a `--api-key-file` or `--postgres-file`) is owned by another user (not root) or writable by its group or others: it is refused, not used (the message names the file and its mode or owner)',
    hint: '`chmod 600 FILE` or `chown $(id -u) FILE`, as the hint says; if someone else could have written it, replace the key',
  },
  DSP3041: {
    part: 'scheduler',
    summary: 'the `retention` option is not a duration',
    hint: "pass milliseconds (>= 0) or a string like `'12h'`, `'7d'`; `0` or `false` keeps finished calls forever",
  },
  DSP3042: {
    part: 'scheduler',
    summary:
      'a bulk `CancelMany` / `RedriveMany` without a filter, or with a state no call of which can change (cancel: pending, running, suspended; redrive: failed, cancelled)',
    hint: 'give at least one filter field, and a state the action applies to',
    connectCode: 'invalid_argument',
    httpStatus: 400,
  },
  DSP3043: {
    part: 'scheduler',
    summary: 'the dashboard: the API key given on the login page, or the session cookie, is not accepted',
    hint: "log in again with the scheduler's API key (`DISPATCH_API_KEY`, or the `<db>.api-key` file beside the database)",
    connectCode: 'unauthenticated',
    httpStatus: 401,
  },
  DSP3044: {
    part: 'scheduler',
    summary:
      "the dashboard: a request authenticated by the session cookie came from another origin, or without the dashboard's CSRF header (cross-site request forgery is refused)",
    hint: 'use the dashboard itself; scripts send `Authorization: Bearer <key>` instead of the cookie',
    connectCode: 'permission_denied',
    httpStatus: 403,
  },
  DSP3045: {
    part: 'scheduler',
    summary: 'the dashboard is served on loopback only (`dispatch run`), and the request came from another address',
    hint: 'open it on the machine that runs the scheduler, or run `dispatch scheduler --ui` with `--host` to serve it further',
    connectCode: 'permission_denied',
    httpStatus: 403,
  },
  DSP3060: {
    part: 'scheduler',
    summary:
      "a schedule of the scheduler (its `schedules` option, a route's `@schedule`, a schedules file) is invalid: a malformed cron expression or time zone, a bad `missed` policy, a name given twice, no endpoint, an endpoint the scheduler refuses",
    hint: 'fix the schedule as the message says (docs/flow-control.md, "Schedules")',
  },
  DSP3061: {
    part: 'scheduler',
    summary: '`dispatch schedules pause`, `resume` or `trigger NAME`: no schedule has that name',
    hint: '`dispatch schedules list` shows the schedules the scheduler knows',
    connectCode: 'not_found',
    httpStatus: 404,
  },
  DSP3062: {
    part: 'scheduler',
    summary:
      'schedules were given to a scheduler whose store keeps none (a custom `store` without the schedule methods)',
    hint: 'use the SQLite or PostgreSQL store, or implement the optional schedule methods of `Store`',
    connectCode: 'failed_precondition',
    httpStatus: 400,
  },
  DSP3070: {
    part: 'scheduler',
    summary:
      "answered by the API (400 `invalid_argument`): a debounced call (`flow.debounce`, or the debounce of its function in the scheduler's config) was dispatched with a `delay` or `notBefore`",
    hint: 'leave delay and notBefore out: a debounced call is due one window after its dispatch (docs/flow-control.md)',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP3071: {
    part: 'scheduler',
    summary:
      "answered by the API (400 `invalid_argument`): a call's `flow.debounce.maxMs` is shorter than its `windowMs`",
    hint: 'send a maxMs at least as long as the window, or none (docs/flow-control.md)',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP3501: {
    part: 'postgres',
    summary:
      '`--postgres` / `DISPATCH_DATABASE_URL` is not a `postgres://` URL, or `--schema` is not a usable name (CLI: exit 2)',
    hint: 'use `postgres://user:password@host:5432/database`; schema: letters, digits, `_`',
    httpStatus: 400,
  },
  DSP3502: {
    part: 'postgres',
    summary: 'PostgreSQL cannot be reached or refuses the connection at start-up (the cause is in the message)',
    hint: 'check that it runs, and the host, port, user, password and database of the URL',
  },
  DSP3503: {
    part: 'postgres',
    summary: 'the schema was migrated by a newer version of dispatch-functions',
    hint: 'upgrade every node, or use another schema (`--schema`)',
  },
  DSP3504: {
    part: 'postgres',
    summary: 'the schema is `public`, or holds tables dispatch-functions did not create (`settings` keeps the keys)',
    hint: 'give the installation a schema of its own (`--schema dispatch`, the default)',
    httpStatus: 400,
  },
  DSP3520: {
    part: 'postgres',
    summary:
      "either store (SQLite too) cannot hold a value alike: a NUL in text, a time no `Date` holds, a queue key over 2,400 bytes, or a value the database refused. At Dispatch: 400, nothing stored; in an endpoint's answer: that call alone fails (`StoreRefused`)",
    hint: 'the API checks these values first, so this is a bug: report the value and the message',
    httpStatus: 400,
    connectCode: 'invalid_argument',
  },
  DSP3601: {
    part: 'scheduler',
    summary:
      'an option of the scheduler under load is out of range: `adaptiveConcurrency` bounds not `1 <= min <= initial <= max`, `decrease` not between 0 and 1, or a `fairness.weights` entry not > 0',
    hint: 'fix the named option (docs/scheduler.md, "Under load")',
  },
  DSP4001: {
    part: 'cli',
    summary: '`dispatch run` without a command (exit 2)',
    hint: '`dispatch run -- node server.js`',
  },
  DSP4002: {
    part: 'cli',
    summary: '`dispatch run`: the command after `--` does not exist (exit 127)',
    hint: 'check the command',
  },
  DSP4003: {
    part: 'cli',
    summary: '`dispatch run`: the command cannot be started (exit 127)',
    hint: 'check its permissions',
  },
  DSP4010: {
    part: 'cli',
    summary: '`--api-key-file` or `--postgres-file` cannot be read (the error code is named) or is empty',
    hint: 'give a file this user can read, holding the value; or set `DISPATCH_API_KEY` / `DISPATCH_DATABASE_URL`',
  },
  DSP4011: {
    part: 'cli',
    summary:
      'a secret was given both as a flag and as a file (`--api-key` and `--api-key-file`, `--postgres` and `--postgres-file`)',
    hint: 'give one; the environment variable or the file is the one `ps` does not show',
  },
  DSP4020: {
    part: 'cli',
    summary:
      '`dispatch run --app-port N`: another process listens on 127.0.0.1:N (or the port cannot be used); the app is not started',
    hint: 'stop that process, pick another `--app-port`, or leave the flag out: `dispatch run` then picks a free port',
  },
  DSP4021: {
    part: 'cli',
    summary: '`dispatch run` / `dispatch scheduler`: the scheduler cannot listen on its port (in use, or not allowed)',
    hint: '`--port` with a free port (`--port 0` picks one), or stop the process that holds it',
  },
  DSP4022: {
    part: 'cli',
    summary:
      '`dispatch env`: no `dispatch run` is running with this database (no `<db>.run.json`, or its process has exited)',
    hint: 'start `npx dispatch run -- <your app>` in this folder, or pass the `--db` it runs with',
  },
  DSP4023: {
    part: 'cli',
    summary: '`dispatch env`: `<db>.run.json` cannot be read or is not a state file',
    hint: 'run `dispatch env` as the user that runs `dispatch run`; restart `dispatch run` to write the file again',
  },
  DSP4024: {
    part: 'cli',
    summary: '`dispatch init DIR`: DIR exists and is not a folder',
    hint: 'give a folder',
  },
  DSP4026: {
    part: 'cli',
    summary: '`dispatch calls cancel` or `redrive`: both a dispatch id and filter flags, or neither (exit 2)',
    hint: 'give one dispatch id, or filter flags such as `--state failed --function f` for a bulk action',
  },
  DSP4027: {
    part: 'cli',
    summary:
      '`dispatch calls cancel` or `redrive` by filter without `--yes`, and no terminal to ask for confirmation on (exit 2)',
    hint: 'add `--yes` once the count it printed is what you meant (a dry run: `dispatch calls list` with the same flags)',
  },
  DSP4025: {
    part: 'cli',
    summary:
      '`dispatch init`: the existing package.json is not a JSON object (or its `scripts`/`dependencies` are not objects); nothing was written',
    hint: 'fix or remove it, then run `dispatch init` again',
  },
  DSP4030: {
    part: 'cli',
    summary:
      '`dispatch run` or `dispatch scheduler --schedules FILE`: the schedules file cannot be read, is not JSON, or is not `{ "schedules": [...] }`',
    hint: 'run `npx dispatch gen` again (it writes `schedules.gen.json`), or fix the file the message names',
  },
  DSP5001: {
    part: 'testing',
    summary: '`createTestEnvironment` while another test environment is open in this process',
    hint: 'close it first (`await env.close()`, e.g. in `afterEach`), or run the test files in separate processes',
  },
  DSP5002: {
    part: 'testing',
    summary:
      '`createTestEnvironment` without a route table, or `env.mock()` of a function the route table does not have (or without a function)',
    hint: "pass `{ routes }` from `routes.gen.ts`; mock one of its functions, or pass `{ endpoint }` to mock another service's",
  },
  DSP5003: {
    part: 'testing',
    summary: 'a test environment used after `env.close()`',
    hint: 'create a new environment for each test (`createTestEnvironment` in `beforeEach`, `env.close()` in `afterEach`)',
  },
  DSP5004: {
    part: 'testing',
    summary:
      "`env.waitFor(id)`: the call is still unfinished at the environment's time (the message names what is due next)",
    hint: 'move the clock past it first: `await env.advanceTime(...)`',
  },
  DSP5005: {
    part: 'testing',
    summary:
      'the test environment did not settle within `idleTimeoutMs` of real time (the message names the running calls)',
    hint: 'a function waits on real time or I/O (a timer, a socket): mock it, or raise `idleTimeoutMs`',
  },
  DSP5007: {
    part: 'testing',
    summary: '`env.waitFor(id)` / `env.inspect(id)` of an id the environment does not know',
    hint: 'pass an id that a client of this environment returned (`await dispatchClient.f(...)`)',
  },
  DSP5008: {
    part: 'testing',
    summary: '`env.advanceTime(d)` with `d` over 3650 days (the longest Duration the scheduler takes)',
    hint: 'advance in steps of at most 3650 days',
  },
  DSP5006: {
    part: 'testing',
    summary: '`createTestEnvironment({ startTime })` is not an instant',
    hint: 'pass a `Date` or milliseconds since the epoch, or leave `startTime` out to start at the real time',
  },
} satisfies Record<`DSP${number}`, ErrorCatalogEntry>

/** A catalogued error code (`DSPnnnn`). */
export type DspCode = keyof typeof ENTRIES

/**
 * Every error code of dispatch-functions, by code.
 *
 * @example
 * ```ts
 * ERROR_CATALOG.DSP3010.httpStatus // 400
 * ```
 */
export const ERROR_CATALOG: { readonly [C in DspCode]: ErrorCatalogEntry } = ENTRIES
