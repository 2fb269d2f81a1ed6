import { spawn } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';
import { isolationOf } from '../isolation';
import { PgworkError } from '../shared/errors';
import { RUN_STATE_VARIABLE } from '../shared/run-state';
import { finishRunnerRun, startConfiguredRun } from '../setup/runner-run';
import { workerVariables } from '../worker/env';

// `pgwork run [--config <file>] [--workers <n>] -- <command> [args...]`: what a
// runner's global setup and teardown do, around any command: the server, the
// template, the workers' databases, the run's state in the command's
// environment (for the bindings of runners without a global setup: node:test,
// Bun), and worker 1's database in DATABASE_URL for a plain script; the run is
// finished when the command exits, fails or is interrupted.

export interface RunCommandRequest {
  readonly cwd: string;
  readonly config?: string;
  readonly workers?: number;
  readonly command: readonly string[];
}

/** Signals passed on to the command; pgwork finishes the run once the command has exited. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function runCommand(request: RunCommandRequest): Promise<number> {
  if (!request.command.length) {
    throw new PgworkError('INVALID_OPTION', 'pgwork run needs a command after --, e.g. pgwork run -- node --test.');
  }
  const write = (text: string) => process.stderr.write(text);
  const run = await startConfiguredRun({
    cwd: request.cwd,
    config: request.config,
    workers: request.workers ?? availableParallelism(),
    reader: 'pgwork run',
    write,
  });
  let exitCode = 1;
  try {
    // Worker 1's database exists before the command starts: a plain script uses it as it is.
    const opened = await isolationOf(run.state.mode).open(run.state as never, 1);
    await opened.client.end().catch(() => undefined);
    const env = {
      ...process.env,
      [RUN_STATE_VARIABLE]: JSON.stringify(run.state),
      ...workerVariables(run.state, 1),
    };
    exitCode = await spawnCommand(request.command, request.cwd, env);
  } finally {
    await finishRunnerRun(run, undefined, write);
  }
  return exitCode;
}

/** Runs the command to its end, passing on the signals pgwork gets; its exit code (128 + the signal's number when a signal ended it). */
function spawnCommand(command: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolveExit, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const handlers = FORWARDED.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    // Should pgwork run itself end first (an error of its own), the command does not outlive the run.
    const stopCommand = () => child.kill('SIGTERM');
    process.once('exit', stopCommand);
    const done = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      process.off('exit', stopCommand);
    };
    child.once('error', (error) => {
      done();
      const code = (error as NodeJS.ErrnoException).code;
      reject(
        new PgworkError(
          'INVALID_OPTION',
          `pgwork run could not start ${JSON.stringify(command[0])} (${code ?? error.message}); check the command after --.`,
        ),
      );
    });
    child.once('exit', (code, signal) => {
      done();
      resolveExit(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/** `pgwork run`'s own options, before the `--` that starts the command. */
export function parseRunArguments(argv: readonly string[], cwd: string): RunCommandRequest {
  const separator = argv.indexOf('--');
  const own = separator === -1 ? argv : argv.slice(0, separator);
  const command = separator === -1 ? [] : argv.slice(separator + 1);
  let config: string | undefined;
  let workers: number | undefined;
  for (let i = 0; i < own.length; i++) {
    const [flag, inline] = own[i]!.split(/=(.*)/s) as [string, string?];
    const value = () => {
      const given = inline ?? own[++i];
      if (!given) throw new PgworkError('INVALID_OPTION', `${flag} needs a value; see pgwork --help.`);
      return given;
    };
    if (flag === '--config') config = value();
    else if (flag === '--workers') {
      const given = value();
      if (!/^[1-9]\d*$/.test(given))
        throw new PgworkError(
          'INVALID_OPTION',
          `--workers must be a whole number from 1 (got ${JSON.stringify(given)}).`,
        );
      workers = Number(given);
    } else
      throw new PgworkError(
        'INVALID_OPTION',
        `pgwork run takes --config and --workers, then -- and the command (got ${JSON.stringify(own[i])}); e.g. pgwork run -- node --test.`,
      );
  }
  return { cwd, config, workers, command };
}
