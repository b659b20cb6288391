/** The PostgreSQL the tests use: the local server .ci/run starts (trust auth), or DISPATCH_TEST_DATABASE_URL. */
export const POSTGRES_TEST_URL = process.env['DISPATCH_TEST_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test'
