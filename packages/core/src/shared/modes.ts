// The modes a user chooses between, as the lists options are checked against and the types they make.
export const ISOLATION_MODES = ['database', 'schema', 'server'] as const;
export const RESET_MODES = ['empty', 'transaction'] as const;
export const RESET_BEFORE = ['test', 'file', 'never'] as const;
export const CHECK_ENV = ['error', 'warn', 'off'] as const;

export type IsolationMode = (typeof ISOLATION_MODES)[number];
export type ResetMode = (typeof RESET_MODES)[number];
export type ResetBefore = (typeof RESET_BEFORE)[number];
export type CheckEnv = (typeof CHECK_ENV)[number];
