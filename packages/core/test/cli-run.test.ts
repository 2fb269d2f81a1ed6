import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverUrl, uniqueBase, workerDatabasesOf } from './helpers';

// `pgwork run -- <command>`: a run around any command, finished however the command ends.

const CLI = join(__dirname, '../dist/cli/main.js');
const ADAPTER = join(__dirname, 'fixtures/sql-adapter.js');

function project(baseName: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgwork-run-'));
  const options = {
    adapter: {
      module: ADAPTER,
      options: { sql: 'CREATE TABLE fixture_migrations (name text); CREATE TABLE items (id int)' },
    },
    baseName,
  };
  writeFileSync(join(dir, 'pgwork.config.json'), JSON.stringify(options));
  return dir;
}

const environment = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, PGWORK_DATABASE_URL: serverUrl() };
  for (const name of ['DATABASE_URL', 'PGWORK_RUN', 'PGWORK_KEEP', 'JEST_WORKER_ID']) delete env[name];
  return env;
};

/** The databases of the base name on the test server (worker databases and templates alike). */
/** A script that writes a row to DATABASE_URL, prints its database, and exits with `code`. */
const writer = (code: number) => `
  const { Client } = require(${JSON.stringify(require.resolve('pg'))});
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  client.connect()
    .then(() => client.query('INSERT INTO items VALUES (1) RETURNING current_database() AS db'))
    .then((result) => { console.log('wrote to ' + result.rows[0].db); return client.end(); })
    .then(() => process.exit(${code}));
`;

describe('pgwork run', () => {
  it("gives the command worker 1's database, passes its exit code on, and drops the run's databases", async () => {
    const base = uniqueBase('run');
    const dir = project(base);
    try {
      const run = spawnSync(process.execPath, [CLI, 'run', '--workers', '2', '--', process.execPath, '-e', writer(3)], {
        cwd: dir,
        env: environment(),
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.stdout).toMatch(new RegExp(`wrote to ${base}_\\w+_w1`));
      expect(run.status).toBe(3);
      expect(run.stderr).toMatch(/pgwork: run \w+ on Postgres at .*; template .* \(fixture-sql\)/);
      expect(run.stderr).toMatch(/pgwork: run \w+ used 2 database\(s\), now dropped/);
      expect(await workerDatabasesOf(base)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'interrupted by %s: the command gets the signal, and the run still ends with nothing left',
    async (signal) => {
      const base = uniqueBase('run');
      const dir = project(base);
      const marker = join(dir, 'signalled');
      const waiter = `
        process.on(${JSON.stringify(signal)}, () => { require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'got it'); process.exit(7); });
        console.log('waiting'); setInterval(() => {}, 1000);
      `;
      try {
        const child = spawn(process.execPath, [CLI, 'run', '--', process.execPath, '-e', waiter], {
          cwd: dir,
          env: environment(),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        const status = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
        const deadline = Date.now() + 120_000;
        while (!output.includes('waiting') && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
        expect(output).toContain('waiting');
        expect(await workerDatabasesOf(base)).not.toEqual([]);
        child.kill(signal);
        expect(await status).toBe(7);
        expect(readFileSync(marker, 'utf8')).toBe('got it');
        expect(output).toMatch(/now dropped/);
        expect(await workerDatabasesOf(base)).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it("loads an adapter named by its package, installed in the project only (as pnpm installs it: out of core's sight)", () => {
    const base = uniqueBase('run');
    const dir = project(base);
    try {
      const installed = join(dir, 'node_modules', 'project-only-adapter');
      mkdirSync(installed, { recursive: true });
      writeFileSync(join(installed, 'index.js'), `module.exports = require(${JSON.stringify(ADAPTER)});`);
      const options = JSON.parse(readFileSync(join(dir, 'pgwork.config.json'), 'utf8'));
      writeFileSync(
        join(dir, 'pgwork.config.json'),
        JSON.stringify({ ...options, adapter: { ...options.adapter, module: 'project-only-adapter' } }),
      );
      const run = spawnSync(process.execPath, [CLI, 'run', '--', process.execPath, '-e', writer(0)], {
        cwd: dir,
        env: environment(),
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.stderr).not.toMatch(/cannot load adapter/);
      expect(run.stdout).toMatch(/wrote to /);
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong in one line: no config, no command, a command that cannot start (and ends the run)', async () => {
    const base = uniqueBase('run');
    const dir = project(base);
    const empty = mkdtempSync(join(tmpdir(), 'pgwork-run-empty-'));
    const pgworkRun = (args: string[], cwd: string) =>
      spawnSync(process.execPath, [CLI, 'run', ...args], {
        cwd,
        env: environment(),
        encoding: 'utf8',
        timeout: 120_000,
      });
    try {
      const noConfig = pgworkRun(['--', 'true'], empty);
      expect(noConfig.status).toBe(1);
      expect(noConfig.stderr.trim()).toBe(
        `pgwork: pgwork run reads its options from pgwork.config.mjs, .js, .cjs or .json (export default { adapter: ... }), and ${empty} has none; add one, or pass --config <file>.`,
      );
      const noCommand = pgworkRun([], dir);
      expect(noCommand.stderr.trim()).toBe(
        'pgwork: pgwork run needs a command after --, e.g. pgwork run -- node --test.',
      );
      const missing = pgworkRun(['--', 'no-such-command-here'], dir);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(
        /pgwork: pgwork run could not start "no-such-command-here" \(ENOENT\); check the command after --\./,
      );
      expect(missing.stderr).toMatch(/now dropped/);
      expect(await workerDatabasesOf(base)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
