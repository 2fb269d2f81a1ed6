// @pgwork/core for users: the Jest config wrapper, its options, its errors, and
// reset() for suites that choose when to reset. Adapter authors import
// @pgwork/core/adapter; pgwork's own tests @pgwork/core/testing.
export { withPgwork, type JestConfigLike } from './jest/config';
export type { PgworkOptions } from './setup/options';
export type { CheckEnv, IsolationMode, ResetBefore, ResetMode } from './shared/modes';
export { PgworkError, type PgworkErrorCode } from './shared/errors';
export { reset } from './worker/lifecycle';
