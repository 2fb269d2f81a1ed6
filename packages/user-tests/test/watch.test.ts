import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ROOT, stripAnsi, userEnvironment } from './packages';

// Watch mode, scripted: a copy of examples/drizzle watched by `vitest` and by
// `jest --watchAll`. A schema change reruns the suite green on a template built
// for the new schema, each rerun is a run of its own (the previous run's
// databases dropped), quitting leaves nothing behind, and a watch session
// killed by a signal leaves databases the next run reclaims. Every database
// check is a raw SQL probe of the server, not pgwork's own report.
//
// On a loaded machine a watcher may see the one write of a schema change as two
// file events far enough apart to make two reruns. So the tests count no reruns:
// they wait until the session is idle, then hold every rerun to what the change
// demands (triggered by the changed file, green, the first one on a newly built
// template and later ones reusing it, each run's databases dropped when the next
// starts), and check the databases of whichever run is live.
const EXAMPLE = join(ROOT, 'examples', 'drizzle');
const { clusterUrls } = require(join(ROOT, 'packages/core/dist/setup/cluster.js')) as {
  clusterUrls(directory: string): { url: string } | undefined;
};

/** The example as a project of its own in a temporary folder (its installed node_modules linked in). */
function scratchProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgwork-watch-'));
  cpSync(EXAMPLE, dir, { recursive: true, filter: (source) => !/[\\/](node_modules|\.turbo)$/.test(source) });
  symlinkSync(join(EXAMPLE, 'node_modules'), join(dir, 'node_modules'));
  const tsconfig = { extends: join(ROOT, 'tsconfig.base.json'), compilerOptions: { noEmit: true } };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  return dir;
}

/** A table added to the schema, named per test run so its template is new (built, not reused). */
function changeSchema(dir: string): string {
  const table = `watch_${Date.now().toString(36)}`;
  appendFileSync(join(dir, 'src/schema.ts'), `\nexport const ${table} = pgTable('${table}', { id: integer('id') });\n`);
  return table;
}

interface RunLine {
  id: string;
  server: string;
  template: string;
  built: boolean;
}

/** How long a watch session must stay silent to count as idle: a rerun the watcher queued has printed by then. */
const QUIET_MS = 3000;

/** A long-running runner process whose output is searched as it arrives. */
class Session {
  readonly child: ChildProcess;
  private text = '';
  /** When output last arrived (performance.now()). */
  private lastOutput = 0;
  readonly exited: Promise<number | string>;

  constructor(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
    this.child = spawn(command, args, {
      cwd,
      env: userEnvironment({ PGWORK_BASE_NAME: 'watch_drizzle', ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const read = (chunk: Buffer) => {
      this.text += chunk;
      this.lastOutput = performance.now();
    };
    this.child.stdout!.on('data', read);
    this.child.stderr!.on('data', read);
    this.exited = new Promise((done) => this.child.on('close', (code, signal) => done(code ?? signal ?? -1)));
  }

  get output(): string {
    return stripAnsi(this.text);
  }

  /** How many times `pattern` matches the output so far. */
  count(pattern: RegExp): number {
    return (this.output.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)) ?? []).length;
  }

  /** Waits until `done()`; fails with the output so far when the runner exits or after `seconds` (a loaded machine is slow). */
  async until(what: string, done: () => boolean, seconds = 300): Promise<void> {
    const deadline = performance.now() + seconds * 1000;
    while (!done()) {
      if (this.child.exitCode !== null || performance.now() > deadline) {
        throw new Error(`waited for ${what} in vain; output:\n${this.output.slice(-4000)}`);
      }
      await new Promise((tick) => setTimeout(tick, 200));
    }
  }

  /** Waits until `pattern` has matched `count` times. */
  waitFor(pattern: RegExp, count = 1): Promise<void> {
    return this.until(`${count}× ${pattern}`, () => this.count(pattern) >= count);
  }

  /**
   * Waits until the runner is idle after at least `runs` runs: every run begun
   * (as `begun` counts them from the runner's output, or by pgwork's run lines,
   * printed once a run's template is ready) has ended (`ended` matched once per
   * run), and no output came for QUIET_MS, so a rerun the watcher queued late has begun.
   */
  settled(runs: number, ended: RegExp, begun: () => number): Promise<void> {
    return this.until(`${runs} run(s), all ended by ${ended}, then ${QUIET_MS} ms without output`, () => {
      const started = Math.max(this.runs().length, begun());
      return started >= runs && this.count(ended) >= started && performance.now() - this.lastOutput >= QUIET_MS;
    });
  }

  /** pgwork's run start lines, in order. */
  runs(): RunLine[] {
    return [
      ...this.output.matchAll(/pgwork: run (\w+) on [^(]*\(in ([^)]+)\)[^;]*; template (\w+) (built|reused)/g),
    ].map((m) => ({ id: m[1]!, server: m[2]!, template: m[3]!, built: m[4] === 'built' }));
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Raw probe of the embedded server a run line names. */
async function probe<T>(server: string, database: string, work: (client: Client) => Promise<T>): Promise<T> {
  const url = new URL(clusterUrls(server)!.url);
  url.pathname = `/${database}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const databasesOf = (server: string, run: string) =>
  probe(server, 'postgres', async (client) => {
    const result = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE position($1 in datname) > 0 ORDER BY datname',
      [run],
    );
    return result.rows.map((row) => row.datname);
  });

const hasTable = (server: string, database: string, table: string) =>
  probe(server, database, async (client) => {
    const result = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]);
    return result.rows[0]!.found !== null;
  });

/** Templates take no connections: a throwaway copy of one is probed instead. */
async function templateHasTable(server: string, template: string, table: string): Promise<boolean> {
  const copy = `watch_probe_${Date.now().toString(36)}`;
  await probe(server, 'postgres', (client) => client.query(`CREATE DATABASE "${copy}" TEMPLATE "${template}"`));
  try {
    return await hasTable(server, copy, table);
  } finally {
    await probe(server, 'postgres', (client) => client.query(`DROP DATABASE "${copy}"`));
  }
}

const vitestBin = (dir: string) => join(dir, 'node_modules/.bin/vitest');
const jestBin = (dir: string) => join(dir, 'node_modules/.bin/jest');
/**
 * The summary a Vitest run ends with, padded with two spaces. In a terminal Vitest
 * also redraws a progress block while tests run ("Tests 17 passed (21)", one space),
 * which could read "21 passed (21)" in a frame drawn between the last test and the summary.
 */
const PASSED_VITEST = /Tests {2}21 passed \(21\)/;
/** The end of a Vitest run in watch mode: "PASS  Waiting for file changes", or "FAIL  Tests failed. Watching for file changes". */
const ENDED_VITEST = /(?:Waiting|Watching) for file changes/;
/** Vitest's banner for a rerun, naming the file whose change triggered it. */
const RERUN_VITEST = /RERUN\s+(\S+)/g;
/** The end of a Jest run: pgwork's globalTeardown. */
const FINISHED_JEST = /pgwork: run \w+ used 4 database\(s\), now dropped/;
/** What Jest in a terminal prints as each run begins, before pgwork's globalSetup. */
const STARTED_JEST = /Determining test suites to run/;

/**
 * What a schema change demands of the runs after it, however many the watcher
 * made of it: the first on a template newly built with the change, every later
 * one reusing that template, and each run but the live one ended with its
 * databases dropped. The runs, first to last.
 */
async function expectRerunsOfChange(session: Session, first: RunLine, table: string): Promise<RunLine[]> {
  const runs = session.runs();
  expect(runs[0]).toEqual(first);
  const [, second, ...later] = runs;
  expect(second).toMatchObject({ built: true });
  expect(second!.template).not.toBe(first.template);
  for (const run of later) expect(run).toMatchObject({ built: false, template: second!.template });
  expect(await templateHasTable(second!.server, second!.template, table)).toBe(true);
  for (const run of runs.slice(0, -1)) {
    expect(session.output).toContain(`pgwork: run ${run.id} used 4 database(s), now dropped`);
    expect(await databasesOf(run.server, run.id)).toEqual([]);
  }
  return runs;
}

let dir: string;
let session: Session | undefined;
beforeEach(() => {
  dir = scratchProject();
});
afterEach(() => {
  session?.stop();
  session = undefined;
  rmSync(dir, { recursive: true, force: true });
});

test('vitest watch: a schema change reruns green on a new template; Ctrl-C leaves nothing behind', async () => {
  // In a terminal (a pty from `script`), as a developer runs it: Vitest's keys work there.
  session = new Session('script', ['-qfec', `${vitestBin(dir)} --watch`, '/dev/null'], dir);
  await session.waitFor(ENDED_VITEST);
  expect(session.output).toMatch(PASSED_VITEST);
  const [first] = session.runs();
  expect(await databasesOf(first!.server, first!.id)).toHaveLength(4);

  const table = changeSchema(dir);
  // Idle again after the change's rerun, and any the watcher added (each begins with a banner).
  await session.settled(2, ENDED_VITEST, () => 1 + session!.count(RERUN_VITEST));
  // Every rerun came of the test's change, and every run of the session passed.
  const triggers = [...session.output.matchAll(RERUN_VITEST)].map((match) => match[1]);
  expect(triggers.length).toBeGreaterThan(0);
  expect(new Set(triggers)).toEqual(new Set(['src/schema.ts']));
  expect(session.count(PASSED_VITEST)).toBe(session.runs().length);
  expect(session.output).not.toMatch(/Tests\s.*failed/);
  const live = (await expectRerunsOfChange(session, first!, table)).at(-1)!;
  // The live run has its 4 databases, each migrated with the change.
  const workers = await databasesOf(live.server, live.id);
  expect(workers).toHaveLength(4);
  for (const database of workers) expect(await hasTable(live.server, database, table)).toBe(true);
  // Nothing ran meanwhile: the run looked at was still the live one.
  expect(session.runs().at(-1)).toEqual(live);

  session.child.stdin!.write('\u0003'); // Ctrl-C
  await session.exited;
  expect(session.output).toContain(`pgwork: run ${live.id} used 4 database(s), now dropped`);
  for (const run of session.runs()) expect(await databasesOf(run.server, run.id)).toEqual([]);
});

test('vitest watch killed by SIGINT (no teardown): the next run reclaims its databases', async () => {
  session = new Session(vitestBin(dir), ['--watch'], dir);
  await session.waitFor(ENDED_VITEST);
  const [killed] = session.runs();
  session.child.kill('SIGINT');
  await session.exited;
  // Vitest exits on a signal without teardown: the run's databases stay until a run
  // reclaims them; on this shared cluster that may be any run that starts meanwhile.
  const next = new Session(vitestBin(dir), ['run'], dir);
  expect(await next.exited).toBe(0);
  expect(await databasesOf(killed!.server, killed!.id)).toEqual([]);
});

test('jest --watchAll: every rerun is a whole run, a schema change builds a new template, quitting leaves nothing', async () => {
  session = new Session('script', ['-qfec', `${jestBin(dir)} --watchAll`, '/dev/null'], dir);
  await session.waitFor(FINISHED_JEST);
  expect(session.output).toMatch(/Tests:\s+21 passed, 21 total/);
  const [first] = session.runs();

  const table = changeSchema(dir);
  // Idle again after the change's run, and any the watcher added: 'q' during a run only interrupts it.
  await session.settled(2, FINISHED_JEST, () => session!.count(STARTED_JEST));
  // A terminal's Jest redraws its summary, so the lines repeat: what counts is that none failed.
  expect(session.output).not.toMatch(/Tests:.*failed/);
  const runs = await expectRerunsOfChange(session, first!, table);
  // Every run is a whole run: the last one too ended with its databases dropped.
  expect(session.output).toContain(`pgwork: run ${runs.at(-1)!.id} used 4 database(s), now dropped`);

  session.child.stdin!.write('q');
  expect(await session.exited).toBe(0);
  for (const run of session.runs()) expect(await databasesOf(run.server, run.id)).toEqual([]);
});
