import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { PgworkError } from './errors';

// One way to run code in a child Node process: the parent starts a compiled
// child file with a JSON request, the child answers on one marked line. pgwork
// runs user code (seed modules, ORM configs, DataSources) and ORM CLIs there,
// so their module loading, globals and connections never touch the test runner's.

export interface ProcessResult {
  code: number | null;
  /** stdout and stderr, interleaved as they arrived. */
  output: string;
}

/** Runs a command to completion and collects its output (an ORM's own CLI, for example). */
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

/**
 * DATABASE_URL for code that reads it at load time (an ORM config, a
 * DataSource module) when pgwork runs it to learn paths, not to connect.
 */
export const PLACEHOLDER_DATABASE_URL = 'postgres://pgwork@localhost/pgwork';

/** Loaders that let a plain Node process require TypeScript, most faithful first (ts-node emits decorator metadata). */
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

/** Prefix of the one line a child prints its JSON answer on. */
const ANSWER = '@@pgwork ';

type Answer<T> = { value: T } | { error: string; details?: Record<string, unknown> };

/** A child's failure: its one-line message, and what else it reported (the failing query, a code). */
export class ChildError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ChildError';
  }
}

export interface ChildOptions {
  /** The project: the child's working directory, where loaders are found. */
  cwd: string;
  /** A TypeScript module the child will require: the project's loader is preloaded for it. */
  loads?: { module: string; option: string; searchFrom?: readonly string[]; preferred?: readonly string[] };
  /** Extra variables; DATABASE_URL is always set (to PLACEHOLDER_DATABASE_URL when unset). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** The error to throw instead of the child's own (ChildError), e.g. a PgworkError naming the option to fix. */
  failure?: (error: ChildError) => Error;
}

/**
 * Runs `file` (a compiled module that calls `childMain`) in a fresh Node
 * process with `request`, and returns what the child's work returned, or
 * throws a ChildError with its message.
 */
export async function runChild<T>(file: string, request: unknown, options: ChildOptions): Promise<T> {
  const loader = options.loads
    ? typescriptLoaderArgs(
        options.loads.module,
        options.loads.searchFrom ?? [options.cwd],
        options.loads.option,
        options.loads.preferred,
      )
    : [];
  const env = { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? PLACEHOLDER_DATABASE_URL, ...options.env };
  const result = await runProcess(process.execPath, [...loader, file, JSON.stringify(request ?? null)], {
    cwd: options.cwd,
    env,
    timeoutMs: options.timeoutMs,
  });
  const line = result.output.split('\n').find((l) => l.startsWith(ANSWER));
  const fail = (error: ChildError): never => {
    throw options.failure ? options.failure(error) : error;
  };
  if (!line) {
    const crash = crashLine(result.output);
    return fail(new ChildError(crash ?? `the child process ended with exit code ${result.code} and no answer`));
  }
  const answer = JSON.parse(line.slice(ANSWER.length)) as Answer<T>;
  if ('error' in answer) return fail(new ChildError(answer.error, answer.details));
  return answer.value;
}

/**
 * What a child that died without answering said of it: Node's uncaught-error
 * line ("TypeError: ...", after the source excerpt and before the stack), else
 * its last line that is not Node's version banner.
 */
function crashLine(output: string): string | undefined {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (
    lines.find((l) => /^[\w.]*(Error|Exception)(\s*\[\w+\])?:/.test(l)) ??
    lines.filter((l) => !/^Node\.js v\d/.test(l)).pop()
  );
}

/**
 * An error's first line, with the next one when the first only introduces it
 * (ts-node: "Unable to compile TypeScript:" then the diagnostic).
 */
function firstLine(error: unknown): string {
  const [first = '', ...rest] = String((error as Error)?.message ?? error).split('\n');
  const next = rest.find((l) => l.trim());
  return first.trimEnd().endsWith(':') && next ? `${first.trimEnd()} ${next.trim()}` : first;
}

/** The modules a child had loaded when its work began: pgwork's own, the adapter's child file, the TypeScript loader. */
let loadedBeforeWork: ReadonlySet<string> = new Set();

/**
 * In a child (childMain's work): the project files the work has loaded so far,
 * a config module and every entity, model or helper it required, outside
 * node_modules: what an adapter's fingerprint hashes. In a workspace pgwork's
 * own files are no node_modules path, so they are left out by when they loaded.
 */
export function loadedProjectFiles(): string[] {
  return Object.keys(require.cache).filter(
    (file) => !loadedBeforeWork.has(file) && !file.includes(`${sep}node_modules${sep}`),
  );
}

/**
 * The child's side: reads the request, runs `work`, prints its result (or its
 * error's first line, with `details` for the parent) on the answer line, and
 * exits: a project module may leave a pool or a timer running, which would
 * otherwise keep the child, and the run waiting for it, alive.
 */
export function childMain<Request, T>(
  work: (request: Request) => Promise<T> | T,
  details: (error: unknown) => Record<string, unknown> = () => ({}),
): void {
  const answer = (value: Answer<T>, code: number) =>
    process.stdout.write(`\n${ANSWER}${JSON.stringify(value)}\n`, () => process.exit(code));
  loadedBeforeWork = new Set(Object.keys(require.cache));
  Promise.resolve()
    .then(() => work(JSON.parse(process.argv[2] ?? 'null') as Request))
    .then(
      (value) => answer({ value: value ?? (null as T) }, 0),
      (error: unknown) => {
        answer({ error: firstLine(error), details: details(error) }, 1);
      },
    );
}

/** Whether a process lives (one of another user's, which we may not signal, counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * Whether the process has exited and only waits for its parent to reap it:
 * it still takes signals, but is gone. A server started by a process that is
 * now blocked (a spawnSync) stays one until that process runs again, and a
 * keeper waiting for it to go would wait, holding the cluster's lock, till then.
 */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); // "pid (comm) state ...": comm may hold spaces and parentheses
  } catch {
    return false; // no /proc (macOS): signals are all there is to go by
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

/**
 * Starts `file` in a detached Node process that outlives this one (the embedded
 * server's watchdog), `request` as its argument; `env` adds variables (what
 * must not show in a process list, such as a URL with a password).
 */
export function startDetachedChild(file: string, request: unknown, env?: NodeJS.ProcessEnv): { kill(): void } {
  const child = spawn(process.execPath, [file, JSON.stringify(request)], {
    detached: true,
    stdio: 'ignore',
    env: env ? { ...process.env, ...env } : undefined,
  });
  child.unref();
  return { kill: () => child.kill() };
}

/**
 * Where a compiled file of `dir` (pass `__dirname`) may be: beside the caller,
 * then in dist/ when the caller runs from src/ (ts-jest).
 */
export function compiledCandidates(dir: string, file: string): string[] {
  const candidates = [join(dir, file)];
  const src = dir.lastIndexOf(`${sep}src`);
  if (src !== -1) candidates.push(join(`${dir.slice(0, src)}${sep}dist${dir.slice(src + 4)}`, file));
  return candidates;
}

/** A compiled file of `dir` (in dist/ when `dir` is in src/, as in pgwork's own tests) where one exists. */
export function compiledFile(dir: string, file: string): string {
  return compiledCandidates(dir, file).find((path) => existsSync(path)) ?? join(dir, file);
}

/**
 * The compiled JavaScript of child file `name` in `dir` (pass `__dirname`), or
 * an error saying to build. Run from src/ (an adapter's own tests), the child
 * runs from dist/: one older than its source would run stale code, so that is
 * refused too.
 */
export function childFile(dir: string, name: string): string {
  const candidates = compiledCandidates(dir, `${name}.js`);
  const found = candidates.find((file) => existsSync(file));
  if (!found)
    throw new PgworkError('ADAPTER_FAILED', `cannot find ${candidates.join(' or ')}; build the package first.`);
  const source = join(dir, `${name}.ts`);
  if (found !== candidates[0] && existsSync(source) && statSync(source).mtimeMs > statSync(found).mtimeMs)
    throw new PgworkError('ADAPTER_FAILED', `${found} is older than ${source}; build the package again.`);
  return found;
}
