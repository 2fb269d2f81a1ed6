import { runInThisContext } from 'node:vm';

/**
 * Node's own require. Jest hands the sandbox its own `module` builtin (and
 * `process.getBuiltinModule`), whose createRequire stays inside; the real
 * process, reached through vm, has the real one.
 */
export function nodeRequire(filename: string): NodeJS.Require {
  const realProcess = runInThisContext('process') as NodeJS.Process & { getBuiltinModule?: (id: string) => unknown };
  const Module = (realProcess.getBuiltinModule?.('node:module') ?? realProcess.mainModule?.constructor) as
    | typeof import('node:module')
    | undefined;
  return Module?.createRequire ? Module.createRequire(filename) : require;
}
