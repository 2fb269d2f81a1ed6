#!/usr/bin/env node
import { PgworkError } from '../shared/errors';
import { CORE_VERSION } from '../setup/template';
import { clean, doctorCommand, ls, type CommandContext, type CommandResult } from './commands';
import { parseDuration } from './output';
import { readProjects, type CliFlags } from './project';
import { clustersLeftStopped, whenStopped } from './servers';
import { parseRunArguments, runCommand } from './run';
import { url } from './url';

const USAGE = `usage: pgwork <command> [options]

  ls               what pgwork keeps on the server for this project: each run (live
                   or ended) with its databases or schemas, and each template (which
                   one is current); --all-base-names: every project's on the server;
                   a stopped kept cluster is listed as stopped (--start: start it
                   and list what it keeps)
  clean            drop what this project's ended runs left (killed, or kept with
                   PGWORK_KEEP=1); --templates: also its templates that are not current;
                   --all-base-names: every project's (templates by --older-than);
                   starts the stopped kept clusters of this project's isolation
                   (--start: every one)
  doctor           check the setup without running tests: one line per check
  url [worker]     the URL of a kept run's worker database (worker 1 by default),
                   for psql $(pgwork url 2)
  run -- <command> a run around any command, as a runner's global setup and teardown
                   would do it: the command gets the run (for node:test, Mocha, Bun
                   and their bindings) and worker 1's database in DATABASE_URL; the
                   run ends when the command does. Options from pgwork.config.*;
                   --config <file>, --workers <n> (default: the machine's cores)

options
  --config <file>     the Jest or Vitest config (default: jest.config.*, package.json
                      "jest", or vitest.config.* in this folder)
  --url <url>         the server (default: as a run chooses it: PGWORK_DATABASE_URL,
                      the databaseUrl option, DATABASE_URL, else the embedded server)
  --base-name <name>  the base name (default: the config's, else the project's own,
                      pgwork_<package name>_<hash of its folder>)
  --workers <n>       doctor: the worker count for the connection check
  --json              print JSON
  ls:    --all-base-names, --start
  clean: --templates, --older-than <7d|12h|30m>, --all-base-names, --dry-run, --yes, --start
  url:   --run <id>, --project <name> (a config with several projects)
`;

const COMMANDS = ['ls', 'clean', 'doctor', 'url'] as const;
type Command = (typeof COMMANDS)[number];
const VALUE_FLAGS = ['--config', '--url', '--base-name', '--workers', '--older-than', '--run', '--project'];
const BOOLEAN_FLAGS = ['--json', '--yes', '--dry-run', '--templates', '--all-base-names', '--start'];
/** Flags only some commands take. */
const ONLY: Record<string, Command[]> = {
  '--yes': ['clean'],
  '--dry-run': ['clean'],
  '--templates': ['clean'],
  '--older-than': ['clean'],
  '--all-base-names': ['clean', 'ls'],
  '--start': ['clean', 'ls'],
  '--run': ['url'],
  '--project': ['url'],
};

interface Parsed {
  command: Command;
  positional: string[];
  values: Map<string, string>;
  switches: Set<string>;
}

function parse(argv: readonly string[]): Parsed | 'help' | 'version' {
  if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) return 'help';
  if (argv.includes('--version')) return 'version';
  const [command, ...rest] = argv;
  if (!COMMANDS.includes(command as Command)) {
    throw new PgworkError(
      'INVALID_OPTION',
      `unknown command ${JSON.stringify(command)}; use ${COMMANDS.join(', ')} (pgwork --help).`,
    );
  }
  const parsed: Parsed = { command: command as Command, positional: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = rest[i]!.startsWith('--') ? (rest[i]!.split(/=(.*)/s) as [string, string?]) : [rest[i]!];
    if (!flag.startsWith('-')) {
      parsed.positional.push(flag);
      continue;
    }
    const known = VALUE_FLAGS.includes(flag) || BOOLEAN_FLAGS.includes(flag) || flag === '-y';
    if (!known) throw new PgworkError('INVALID_OPTION', `unknown option ${flag}; see pgwork --help.`);
    const name = flag === '-y' ? '--yes' : flag;
    if (ONLY[name] && !ONLY[name]!.includes(parsed.command)) {
      throw new PgworkError(
        'INVALID_OPTION',
        `${name} is an option of pgwork ${ONLY[name]!.join(' and ')}, not of pgwork ${parsed.command}.`,
      );
    }
    if (BOOLEAN_FLAGS.includes(name)) parsed.switches.add(name);
    else {
      const value = inline ?? rest[++i];
      if (value === undefined || value === '')
        throw new PgworkError('INVALID_OPTION', `${name} needs a value; see pgwork --help.`);
      parsed.values.set(name, value);
    }
  }
  return parsed;
}

function positiveInteger(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text))
    throw new PgworkError('INVALID_OPTION', `${what} must be a whole number from 1 (got ${JSON.stringify(text)}).`);
  return Number(text);
}

async function run(parsed: Parsed, out: (text: string) => void): Promise<CommandResult> {
  const { values, switches, positional } = parsed;
  const flags: CliFlags = {
    url: values.get('--url'),
    baseName: values.get('--base-name'),
    config: values.get('--config'),
    workers: positiveInteger(values.get('--workers'), '--workers'),
  };
  const maxPositional = parsed.command === 'url' ? 1 : 0;
  if (positional.length > maxPositional) {
    throw new PgworkError(
      'INVALID_OPTION',
      `pgwork ${parsed.command} takes ${maxPositional ? 'one worker number' : 'no arguments'} (got ${positional.join(' ')}); see pgwork --help.`,
    );
  }
  const cwd = process.cwd();
  const context: CommandContext = { cwd, projects: await readProjects(cwd, flags), out, json: switches.has('--json') };
  const { projects } = context;
  // A stopped kept cluster holds no live run; starting one costs a server start: each command starts only what it needs.
  if (switches.has('--start')) whenStopped(projects, { start: 'all' });
  else if (parsed.command === 'ls') whenStopped(projects, { start: 'none' });
  else if (parsed.command === 'clean')
    whenStopped(projects, { start: 'isolation', isolations: [...new Set(projects.map((p) => p.isolation))] });
  switch (parsed.command) {
    case 'ls':
      return ls(context, switches.has('--all-base-names'));
    case 'doctor':
      return doctorCommand(context);
    case 'url': {
      const worker = positiveInteger(positional[0], 'the worker number') ?? 1;
      const kept = () => url(context, worker, values.get('--run'), values.get('--project'));
      // Where the project's isolation keeps worker N's runs, and in the clusters that run; where that
      // holds no such run, every cluster: "no run" is said only of clusters looked into.
      whenStopped(projects, { start: 'worker', worker });
      try {
        return await kept();
      } catch (error) {
        if (!(error instanceof PgworkError && error.code === 'NO_RUN')) throw error;
        if (!projects.some((project) => clustersLeftStopped(project) > 0)) throw error;
        whenStopped(projects, { start: 'all' });
        return kept();
      }
    }
    case 'clean': {
      const olderThan = values.get('--older-than');
      const olderThanMs = olderThan === undefined ? undefined : parseDuration(olderThan);
      if (olderThan !== undefined && olderThanMs === undefined)
        throw new PgworkError(
          'INVALID_OPTION',
          `--older-than ${JSON.stringify(olderThan)} is not a duration; use e.g. 7d, 12h or 30m.`,
        );
      const allBaseNames = switches.has('--all-base-names');
      if (olderThan !== undefined && !switches.has('--templates'))
        throw new PgworkError('INVALID_OPTION', '--older-than applies to templates; add --templates.');
      if (allBaseNames && switches.has('--templates') && olderThanMs === undefined)
        throw new PgworkError(
          'INVALID_OPTION',
          "--all-base-names drops other projects' templates by age alone, so it needs --older-than (e.g. 30d).",
        );
      return clean(context, {
        templates: switches.has('--templates'),
        olderThanMs,
        allBaseNames,
        yes: switches.has('--yes'),
        dryRun: switches.has('--dry-run'),
      });
    }
  }
}

/** Runs the CLI; resolves to the exit code. Errors are one line (JSON with --json), never a stack. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  try {
    if (argv[0] === 'run') return await runCommand(parseRunArguments(argv.slice(1), process.cwd()));
    const parsed = parse(argv);
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (parsed === 'version') {
      process.stdout.write(`${CORE_VERSION}\n`);
      return 0;
    }
    // With --json, the human lines go to stderr and stdout is only the JSON.
    const result = await run(parsed, (text) => (json ? process.stderr : process.stdout).write(text));
    if (json) process.stdout.write(`${JSON.stringify(result.json, null, 2)}\n`);
    return result.exitCode;
  } catch (error) {
    const message =
      error instanceof PgworkError
        ? error.message
        : `pgwork: ${error instanceof Error ? error.message : String(error)}`;
    const code = error instanceof PgworkError ? error.code : 'DATABASE_ERROR';
    if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    process.stderr.write(`${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  // `pgwork ls | head`: a reader that stops early is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
