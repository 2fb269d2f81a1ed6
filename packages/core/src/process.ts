import { spawn } from 'node:child_process';
import { PgworkError } from './errors';

export interface ProcessResult {
  code: number | null;
  /** stdout and stderr, interleaved as they arrived. */
  output: string;
}

/**
 * Runs a command to completion and collects its output. Adapters use it to run
 * an ORM's CLI, or the project's own code in a separate Node process (whose
 * module loading, globals and connections then never touch Jest's).
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ProcessResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', fail);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      done({ code, output });
    });
  });
}

/** Loaders that let a plain Node process require a project's TypeScript, most faithful first (ts-node emits decorator metadata). */
const TYPESCRIPT_LOADERS = ['ts-node/register/transpile-only', '@swc-node/register', 'esbuild-register', 'tsx/cjs'];

/**
 * Node arguments to require `modulePath`: none for JavaScript, else `-r <loader>`
 * with the first loader found from `searchFrom` (the project, then any extra
 * places). `preferred` loaders are tried first: an ORM's CLI that loads the
 * file itself with one should be matched.
 */
export function typescriptLoaderArgs(
  modulePath: string,
  searchFrom: readonly string[],
  option: string,
  preferred: readonly string[] = [],
): string[] {
  if (!/\.[cm]?tsx?$/.test(modulePath)) return [];
  for (const loader of [...preferred, ...TYPESCRIPT_LOADERS]) {
    try {
      return ['-r', require.resolve(loader, { paths: [...searchFrom] })];
    } catch {
      // try the next one
    }
  }
  throw new PgworkError(
    'INVALID_OPTION',
    `${modulePath} is TypeScript and no loader was found from ${searchFrom[0]}; install ts-node (pnpm add -D ts-node) or point ${option} at compiled JavaScript.`,
  );
}

/** Prefix of the one line a pgwork child process prints its JSON answer on. */
export const CHILD_ANSWER = '@@pgwork ';

/** The JSON a child printed after CHILD_ANSWER, or `{ error }` with its last output line. */
export function childAnswer<T>(result: ProcessResult): T | { error: string } {
  const line = result.output.split('\n').find((l) => l.startsWith(CHILD_ANSWER));
  if (line) return JSON.parse(line.slice(CHILD_ANSWER.length));
  const last = result.output.trim().split('\n').filter(Boolean).pop();
  return { error: last ?? `exit code ${result.code}` };
}
