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

/** A long-running runner process whose output is searched as it arrives. */
class Session {
  readonly child: ChildProcess;
  private text = '';
  readonly exited: Promise<number | string>;

  constructor(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
    this.child = spawn(command, args, {
      cwd,
      env: userEnvironment({ PGWORK_BASE_NAME: 'watch_drizzle', ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk) => (this.text += chunk));
    this.child.stderr!.on('data', (chunk) => (this.text += chunk));
    this.exited = new Promise((done) => this.child.on('close', (code, signal) => done(code ?? signal ?? -1)));
  }

  get output(): string {
    return stripAnsi(this.text);
  }

  /** Waits until `pattern` has matched `count` times; fails with the output so far after `seconds`. */
  async waitFor(pattern: RegExp, count = 1, seconds = 120): Promise<void> {
    const global = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
    const deadline = Date.now() + seconds * 1000;
    while ((this.output.match(global) ?? []).length < count) {
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`waited for ${count}× ${pattern} in vain; output:\n${this.output.slice(-4000)}`);
      }
      await new Promise((tick) => setTimeout(tick, 200));
    }
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
const PASSED_VITEST = /Tests\s+21 passed \(21\)/;
const WAITING_VITEST = /Waiting for file changes/;

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
  await session.waitFor(WAITING_VITEST);
  expect(session.output).toMatch(PASSED_VITEST);
  const [first] = session.runs();
  expect(await databasesOf(first!.server, first!.id)).toHaveLength(4);

  const table = changeSchema(dir);
  await session.waitFor(WAITING_VITEST, 2);
  expect(session.output).toMatch(/RERUN.*src\/schema\.ts/);
  expect(session.output.match(new RegExp(PASSED_VITEST.source, 'g'))).toHaveLength(2);
  const [, second] = session.runs();
  expect(second).toMatchObject({ built: true });
  expect(second!.template).not.toBe(first!.template);
  expect(session.output).toContain(`pgwork: run ${first!.id} used 4 database(s), now dropped`);
  expect(await databasesOf(first!.server, first!.id)).toEqual([]);
  expect(await templateHasTable(second!.server, second!.template, table)).toBe(true);
  const workers = await databasesOf(second!.server, second!.id);
  expect(workers).toHaveLength(4);
  for (const database of workers) expect(await hasTable(second!.server, database, table)).toBe(true);

  session.child.stdin!.write('\u0003'); // Ctrl-C
  await session.exited;
  expect(session.output).toContain(`pgwork: run ${second!.id} used 4 database(s), now dropped`);
  expect(await databasesOf(second!.server, second!.id)).toEqual([]);
});

test('vitest watch killed by SIGINT (no teardown): the next run reclaims its databases', async () => {
  session = new Session(vitestBin(dir), ['--watch'], dir);
  await session.waitFor(WAITING_VITEST);
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
  const finished = /pgwork: run \w+ used 4 database\(s\), now dropped/;
  await session.waitFor(finished);
  expect(session.output).toMatch(/Tests:\s+21 passed, 21 total/);
  const [first] = session.runs();

  const table = changeSchema(dir);
  await session.waitFor(finished, 2);
  // A terminal's Jest redraws its summary, so the lines repeat: what counts is that none failed.
  expect(session.output).not.toMatch(/Tests:.*failed/);
  const [, second] = session.runs();
  expect(second).toMatchObject({ built: true });
  expect(second!.template).not.toBe(first!.template);
  expect(await templateHasTable(second!.server, second!.template, table)).toBe(true);

  session.child.stdin!.write('q');
  expect(await session.exited).toBe(0);
  for (const run of [first!, second!]) expect(await databasesOf(run.server, run.id)).toEqual([]);
});
