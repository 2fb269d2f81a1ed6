// The modes a user chooses between, as types and as the lists options are checked against.
export type IsolationMode = 'database' | 'schema' | 'server';
export type ResetMode = 'empty' | 'transaction';
export type ResetBefore = 'test' | 'file' | 'never';
export type CheckEnv = 'error' | 'warn' | 'off';

export const ISOLATION_MODES: readonly IsolationMode[] = ['database', 'schema', 'server'];
export const RESET_MODES: readonly ResetMode[] = ['empty', 'transaction'];
export const RESET_BEFORE: readonly ResetBefore[] = ['test', 'file', 'never'];
export const CHECK_ENV: readonly CheckEnv[] = ['error', 'warn', 'off'];
