import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { ensureDatabase } from '../src/admin/databases';
import { formatMarker } from '../src/admin/marker';
import { databaseUrl, newRunId } from '../src/shared/naming';
import { startRun } from '../src/setup/run';
import { removeClusters, serverPid } from '../src/setup/cluster-files';
import { embeddedBinaries } from '../src/setup/embedded-binaries';
import {
  databaseExists as databaseExistsOn,
  expectPassed,
  liveRun as liveRunOn,
  withAdmin as withAdminOn,
  freeConsecutivePorts,
  rows,
  serversInChild,
  runConfig,
  runFixture,
  sqlAdapter,
  uniqueBase,
} from './helpers';

// The `pgwork` binary as users run it (a child process, the built dist),
// against a server of its own, on the fixture project's Jest config.
const CLI = join(__dirname, '../dist/cli/main.js');
const CONFIG = join(__dirname, 'fixtures/project/jest.config.js');
const VITEST_CONFIG = join(__dirname, 'fixtures/vitest/vitest.config.mjs');

// A server of its own: runs starting in parallel test files reclaim every ended
// run's databases on theirs, and this file needs kept runs to stay until it cleans them.
let url = '';
let servers: { stop(): Promise<void> } | undefined;
const serverUrl = () => url;
beforeAll(async () => {
  const port = await freeConsecutivePorts(1);
  servers = await serversInChild('cli-test', [port]);
  url = `postgres://postgres:cli-test@127.0.0.1:${port}/postgres`;
});
afterAll(() => servers?.stop());

// This file's server, not the shared test server the helpers default to.
const withAdmin = <T>(work: (admin: import('pg').Client) => Promise<T>) => withAdminOn(work, serverUrl());
const databaseExists = (name: string) => databaseExistsOn(name, serverUrl());
const liveRun = () => liveRunOn(serverUrl());

const SCHEMA = 'CREATE TABLE fixture_migrations (name text PRIMARY KEY); CREATE TABLE items (id int PRIMARY KEY)';

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: the CLI's JSON, read field by field in assertions
  json: any;
}

function pgwork(args: string[], env: Record<string, string> = {}, cwd = __dirname): CliRun {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PGWORK_DATABASE_URL: serverUrl(), ...env };
  for (const name of ['DATABASE_URL', 'PGWORK_RUN', 'PGWORK_KEEP', 'TURBO_HASH']) delete childEnv[name];
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, env: childEnv, encoding: 'utf8', timeout: 60_000 });
  let json: unknown;
  if (args.includes('--json')) json = JSON.parse(result.stdout);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, json };
}

/** A database marked as pgwork's, of `run`, made by hand (a kept or a live run's, or a template). */
async function markedDatabase(name: string, marker: Record<string, unknown>): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
    await admin.query(
      `COMMENT ON DATABASE ${escapeIdentifier(name)} IS ${escapeLiteral(formatMarker({ created: new Date().toISOString(), ...(marker as { kind: 'worker'; run: string }) }))}`,
    );
  });
}

describe('on a kept run of the fixture project', () => {
  const base = uniqueBase('cli');
  const env = { FIXTURE_BASE_NAME: base };
  let runId: string;

  beforeAll(() => {
    const run = runFixture({ FIXTURE_BASE_NAME: base, PGWORK_KEEP: '1', PGWORK_DATABASE_URL: serverUrl() });
    expectPassed(run, 8);
    runId = /pgwork: run ([a-z0-9]{8})/.exec(run.output)![1]!;
  });

  it('ls lists the kept run with its worker databases, and the current template with its adapter', () => {
    const ls = pgwork(['ls', '--json', '--config', CONFIG], env);
    expect(ls.status).toBe(0);
    expect(ls.json.projects).toEqual([
      { name: null, config: 'fixtures/project/jest.config.js', baseName: base, isolation: 'database' },
    ]);
    const server = ls.json.servers[0];
    const run = server.runs.find((r: { run: string }) => r.run === runId);
    expect(run).toMatchObject({ alive: false, kept: true, baseName: base });
    expect(run.objects.map((o: { name: string; worker: number }) => [o.name, o.worker])).toEqual([
      [`${base}_${runId}_w1`, 1],
      [`${base}_${runId}_w2`, 2],
    ]);
    expect(run.objects.every((o: { sizeBytes: number }) => o.sizeBytes > 1_000_000)).toBe(true);
    const templates = server.templates.filter((t: { baseName: string }) => t.baseName === base);
    expect(templates).toEqual([
      expect.objectContaining({ adapter: 'fixture-sql', state: 'ready', current: true, inUse: false, run: runId }),
    ]);
    const human = pgwork(['ls', '--config', CONFIG], env);
    expect(human.stdout).toMatch(new RegExp(`${runId}\\s+kept\\s+database\\s+${base}_${runId}_w2\\s+\\d[\\d.]* MB`));
    expect(human.stdout).toMatch(new RegExp(`${templates[0].name}\\s+fixture-sql\\s+.*current`));
  });

  it('url names a worker database psql (and pg) can open', async () => {
    const url = pgwork(['url', '2', '--config', CONFIG], env);
    expect(url.status).toBe(0);
    const [row] = await rows<{ db: string; n: string }>(
      url.stdout.trim(),
      'SELECT current_database() AS db, count(*) AS n FROM fixture_migrations',
    );
    expect(row).toEqual({ db: `${base}_${runId}_w2`, n: '1' });
    expect(pgwork(['url', '--json', '--config', CONFIG], env).json).toMatchObject({
      run: runId,
      worker: 1,
      alive: false,
    });
    const missing = pgwork(['url', '3', '--config', CONFIG], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(
      `pgwork: no run of base name "${base}" keeps a database or schema for worker 3; run your tests with PGWORK_KEEP=1 first (or pass --base-name or --run), then pgwork url 3.\n`,
    );
  });

  it('clean drops the ended run and old templates, never decoys, a live run, the URL database or the current template', async () => {
    const dead = newRunId();
    const live = await liveRun();
    const decoys = {
      unmarked: `${base}_${newRunId()}_w1`,
      badMarker: `${base}_${newRunId()}_w2`,
      liveRun: `${base}_${live.runId}_w1`,
      urlDatabase: `${base}_${dead}_w1`,
    };
    const oldTemplate = `${base}_tpl_${'0'.repeat(16)}`;
    const abandoned = { old: `${base}_gone_tpl_${'1'.repeat(16)}`, recent: `${base}_gone_tpl_${'2'.repeat(16)}` };
    try {
      await withAdmin(async (admin) => {
        await admin.query(`CREATE DATABASE ${decoys.unmarked}`);
        await admin.query(`CREATE DATABASE ${decoys.badMarker}`);
        await admin.query(`COMMENT ON DATABASE ${decoys.badMarker} IS 'pgwork:v1 {not json'`);
        await ensureDatabase(admin, decoys.liveRun, {
          marker: { kind: 'worker', run: live.runId, created: new Date().toISOString() },
        });
      });
      await markedDatabase(decoys.urlDatabase, { kind: 'worker', run: dead });
      await markedDatabase(oldTemplate, {
        kind: 'template',
        run: dead,
        fingerprint: '0'.repeat(64),
        state: 'ready',
        lastUsed: new Date().toISOString(),
      });
      const kept = [`${base}_${runId}_w1`, `${base}_${runId}_w2`];

      // No terminal and no --yes: the plan is printed, nothing dropped, exit 1.
      const asked = pgwork(['clean', '--config', CONFIG], env);
      expect(asked.status).toBe(1);
      expect(asked.stdout).toMatch(
        new RegExp(`drop\\s+database\\s+${kept[0]}\\s+.*run ${runId} has ended, kept with PGWORK_KEEP=1`),
      );
      // A dead run's database that was never finished (no kept mark): killed or interrupted.
      expect(asked.stdout).toMatch(
        new RegExp(
          `drop\\s+database\\s+${decoys.urlDatabase}\\s+.*run ${dead} ended before its teardown \\(killed or interrupted\\)`,
        ),
      );
      const listedDead = pgwork(['ls', '--json', '--config', CONFIG], env).json.servers[0].runs.find(
        (r: { run: string }) => r.run === dead,
      );
      expect(listedDead).toMatchObject({ alive: false, kept: false });
      expect(asked.stderr).toContain('nothing dropped: no terminal to ask on; pass --yes');
      const dry = pgwork(['clean', '--dry-run', '--templates', '--json', '--config', CONFIG], env);
      expect(dry.status).toBe(0);
      const planned = dry.json.servers[0].planned.map((p: { name: string }) => p.name);
      expect(planned).toEqual(expect.arrayContaining([...kept, oldTemplate]));
      for (const name of [...kept, oldTemplate, ...Object.values(decoys)])
        expect(await databaseExists(name)).toBe(true);

      // The URL names a dead run's database: it is where clean connects from, and stays.
      const urlOfDecoy = databaseUrl(serverUrl(), decoys.urlDatabase);
      const cleaned = pgwork(['clean', '--yes', '--json', '--config', CONFIG, '--url', urlOfDecoy], env);
      expect(cleaned.status).toBe(0);
      expect(cleaned.json.servers[0].kept).toContainEqual({
        name: decoys.urlDatabase,
        reason: 'the database the URL names; pgwork never drops it',
      });
      expect(cleaned.json.servers[0].dropped).toEqual(expect.arrayContaining(kept));
      for (const name of kept) expect(await databaseExists(name)).toBe(false);
      for (const name of Object.values(decoys)) expect(await databaseExists(name)).toBe(true);
      expect(await databaseExists(oldTemplate)).toBe(true); // templates only with --templates

      // --older-than keeps a template used within it; plain --templates drops it; the current one stays.
      const recent = pgwork(['clean', '--templates', '--older-than', '7d', '--yes', '--config', CONFIG], env);
      expect(recent.stdout).toMatch(new RegExp(`keep\\s+${oldTemplate}\\s+.*used \\d+s ago, within --older-than`));
      expect(await databaseExists(oldTemplate)).toBe(true);
      const templates = pgwork(['clean', '--templates', '--yes', '--config', CONFIG], env);
      expect(templates.status).toBe(0);
      expect(templates.stdout).toMatch(/keep\s+\S+\s+.*the current template of this project's schema/);
      expect(await databaseExists(oldTemplate)).toBe(false);
      const current = pgwork(['ls', '--json', '--config', CONFIG], env).json.servers[0].templates.filter(
        (t: { baseName: string }) => t.baseName === base,
      );
      expect(current).toEqual([expect.objectContaining({ current: true })]);
      for (const name of [decoys.unmarked, decoys.badMarker, decoys.liveRun])
        expect(await databaseExists(name)).toBe(true);

      // A base name no project here uses any more: its templates go only with --all-base-names, by age.
      // 10 days: beyond --older-than 7d, within the 14 after which any run start's template GC takes it.
      const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000).toISOString();
      for (const [name, lastUsed] of [
        [abandoned.old, tenDaysAgo],
        [abandoned.recent, new Date().toISOString()],
      ] as const) {
        await markedDatabase(name, {
          kind: 'template',
          run: dead,
          fingerprint: '1'.repeat(64),
          state: 'ready',
          lastUsed,
        });
      }
      expect(pgwork(['clean', '--templates', '--yes', '--config', CONFIG], env).status).toBe(0);
      for (const name of Object.values(abandoned)) expect(await databaseExists(name)).toBe(true);
      const everyBase = ['clean', '--templates', '--all-base-names', '--older-than', '7d', '--yes', '--json'];
      const all = pgwork([...everyBase, '--config', CONFIG], env);
      expect(all.status).toBe(0);
      expect(all.json.servers[0].dropped).toEqual([abandoned.old]);
      expect(all.json.servers[0].kept).toEqual(
        expect.arrayContaining([
          { name: abandoned.recent, reason: expect.stringMatching(/^used \d+s ago, within --older-than$/) },
          { name: current[0].name, reason: "the current template of this project's schema" },
        ]),
      );
      expect(await databaseExists(abandoned.old)).toBe(false);
      expect(await databaseExists(abandoned.recent)).toBe(true);
    } finally {
      await live.release();
      await withAdmin(async (admin) => {
        for (const name of [decoys.unmarked, decoys.badMarker, abandoned.recent])
          await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      });
    }
  });
});

describe('a live run', () => {
  it('is listed as live, and clean leaves every database of it while it runs', async () => {
    const base = uniqueBase('clilive');
    const run = await startRun(
      runConfig(sqlAdapter(SCHEMA), base, { workerIds: [1, 2], server: { url: serverUrl(), source: 'test' } }),
    );
    try {
      const names = [1, 2].map((id) => `${base}_${run.state.runId}_w${id}`);
      // The run prewarms its workers' clones in the background.
      for (let waited = 0; !(await databaseExists(names[1]!)); waited += 50) {
        if (waited > 20_000) throw new Error('the run did not clone its workers');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const ls = pgwork(['ls', '--json', '--base-name', base]);
      const listed = ls.json.servers[0].runs.find((r: { run: string }) => r.run === run.state.runId);
      expect(listed).toMatchObject({ alive: true, baseName: base });
      expect(listed.objects).toHaveLength(2);
      const cleaned = pgwork(['clean', '--yes', '--json', '--base-name', base]);
      expect(cleaned.status).toBe(0);
      expect(cleaned.json.servers[0].planned.map((p: { name: string }) => p.name)).not.toEqual(
        expect.arrayContaining([names[0]]),
      );
      for (const name of names) expect(await databaseExists(name)).toBe(true);
      expect(pgwork(['url', '2', '--base-name', base]).stdout.trim()).toBe(databaseUrl(serverUrl(), names[1]!));
      // In a folder without a config and no --base-name, every project's runs are looked at.
      const anywhere = pgwork(['ls', '--json']).json.servers[0].runs;
      expect(anywhere.map((r: { run: string }) => r.run)).toContain(run.state.runId);
      expect(pgwork(['url', '2', '--run', run.state.runId]).stdout.trim()).toBe(databaseUrl(serverUrl(), names[1]!));
    } finally {
      await run.finish();
    }
  });
});

describe('a multi-project config', () => {
  const FEATURES_CONFIG = join(__dirname, 'fixtures/features/jest.config.js');

  it("ls names each run's project; url takes --project, and asks for it when the config has several", async () => {
    const base = uniqueBase('cliproj');
    const env = { FEATURE: 'projects', FIXTURE_BASE_NAME: base };
    const run = runFixture({ ...env, PGWORK_KEEP: '1', PGWORK_DATABASE_URL: serverUrl() }, FEATURES_CONFIG);
    expectPassed(run, 2);
    const ls = pgwork(['ls', '--json', '--config', FEATURES_CONFIG], env);
    expect(ls.json.projects.map((p: { name: string }) => p.name)).toEqual(['alpha', 'beta']);
    const runs = ls.json.servers[0].runs.filter((r: { baseName: string }) => r.baseName === base);
    expect(runs.map((r: { project: string }) => r.project).sort()).toEqual(['alpha', 'beta']);
    expect(runs.every((r: { kept: boolean }) => r.kept)).toBe(true);
    expect(pgwork(['ls', '--config', FEATURES_CONFIG], env).stdout).toMatch(/RUN\s+PROJECT\s+STATE/);
    // Both projects share the base name: each URL is its own project's database (its own table).
    for (const [own, other] of [
      ['alpha', 'beta'],
      ['beta', 'alpha'],
    ]) {
      const url = pgwork(['url', '1', '--project', own!, '--config', FEATURES_CONFIG], env).stdout.trim();
      expect(
        await rows(
          url,
          `SELECT to_regclass('${own}_items') IS NOT NULL AS own, to_regclass('${other}_items') IS NOT NULL AS other`,
        ),
      ).toEqual([{ own: true, other: false }]);
    }
    const ambiguous = pgwork(['url', '1', '--config', FEATURES_CONFIG], env);
    expect(ambiguous.stderr).toBe(
      'pgwork: this config has 2 projects (alpha, beta), each with runs of its own; pass --project <name>.\n',
    );
    expect(ambiguous.status).toBe(1);
    expect(pgwork(['url', '1', '--project', 'gamma', '--config', FEATURES_CONFIG], env).stderr).toBe(
      'pgwork: --project "gamma" is not a project of this config; use one of alpha, beta.\n',
    );
    const cleaned = pgwork(['clean', '--yes', '--json', '--config', FEATURES_CONFIG], env);
    expect(cleaned.status).toBe(0);
    for (const listed of runs) for (const { name } of listed.objects) expect(await databaseExists(name)).toBe(false);
  });
});

describe('schema isolation', () => {
  it('ls shows the kept schemas, url routes psql to one by search_path, clean drops them', async () => {
    const base = uniqueBase('clischema');
    const env = { FIXTURE_BASE_NAME: base, FIXTURE_ISOLATION: 'schema' };
    const run = runFixture({ ...env, PGWORK_KEEP: '1', PGWORK_DATABASE_URL: serverUrl() });
    expectPassed(run, 8);
    const runId = /pgwork: run ([a-z0-9]{8})/.exec(run.output)![1]!;
    const ls = pgwork(['ls', '--json', '--config', CONFIG], env);
    const listed = ls.json.servers[0].runs.find((r: { run: string }) => r.run === runId);
    expect(listed).toMatchObject({ alive: false, kept: true });
    expect(listed.objects.map((o: { unit: string; name: string }) => [o.unit, o.name])).toEqual([
      ['schema', `${base}_${runId}_w1`],
      ['schema', `${base}_${runId}_w2`],
    ]);
    const url = pgwork(['url', '1', '--config', CONFIG], env).stdout.trim();
    expect(new URL(url).searchParams.get('schema')).toBeNull(); // psql refuses Prisma's parameter
    expect(await rows(url, 'SELECT current_schema() AS schema, count(*)::int AS n FROM fixture_migrations')).toEqual([
      { schema: `${base}_${runId}_w1`, n: 1 },
    ]);
    const cleaned = pgwork(['clean', '--yes', '--json', '--config', CONFIG], env);
    expect(cleaned.json.servers[0].dropped).toEqual(
      expect.arrayContaining([`${base}_${runId}_w1`, `${base}_${runId}_w2`]),
    );
    const left = await rows(serverUrl(), 'SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`${base}_%`]);
    expect(left).toEqual([]);
  });
});

describe('doctor', () => {
  const project = mkdtempSync(join(tmpdir(), 'pgwork-doctor-'));
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('passes every check of a sound setup, and says the template is yet to be built', () => {
    const base = uniqueBase('clidoc');
    const doctor = pgwork(['doctor', '--config', CONFIG], { FIXTURE_BASE_NAME: base });
    expect(doctor.status).toBe(0);
    const lines = doctor.stdout.split('\n');
    expect(lines.map((line) => line.split(/\s+/).slice(0, 2).join(' ')).slice(0, 7)).toEqual([
      'ok config',
      'ok turbo', // the repository's turbo.json passes PGWORK_* through
      'ok adapter',
      'ok server',
      'ok role',
      'ok connections',
      'ok template',
    ]);
    expect(doctor.stdout).toMatch(
      /ok\s+config\s+fixtures\/project\/jest.config.js: base name clidoc_\w+, isolation database, reset empty before each test, 2 worker\(s\)/,
    );
    expect(doctor.stdout).toMatch(
      /ok\s+connections\s+2 worker\(s\) x \(10 app \+ 2 pgwork\) = 24 of \d+ free connections/,
    );
    expect(doctor.stdout).toMatch(
      new RegExp(`ok\\s+template\\s+${base}_tpl_[0-9a-f]{16} does not exist yet; the next run builds it \\(migrate\\)`),
    );
    expect(doctor.stdout).toContain('all checks passed');
  });

  it('reads a Vitest config as Vitest would', () => {
    const doctor = pgwork(['doctor', '--json', '--config', VITEST_CONFIG], {
      FEATURE: 'fake-timers',
      FIXTURE_BASE_NAME: 'clividoc',
    });
    expect(doctor.json.checks[0]).toEqual({
      check: 'config',
      ok: true,
      detail:
        'fixtures/vitest/vitest.config.mjs: base name clividoc, isolation database, reset empty before each test, 2 worker(s)',
      project: null,
    });
    expect(doctor.json.ok).toBe(true);
  });

  it('fails with the fix: too many workers, a role without CREATEDB, turbo dropping the variables, no config', async () => {
    const budget = pgwork(['doctor', '--config', CONFIG, '--workers', '1000'], { FIXTURE_BASE_NAME: 'clidoc' });
    expect(budget.status).toBe(1);
    expect(budget.stdout).toMatch(
      /FAIL\s+connections\s+1000 workers x \(10 app connections \+ 2 of pgwork's\) need 12000 connections, .*lower maxWorkers to \d+/,
    );
    expect(budget.stdout).toContain('1 check(s) failed');

    const role = uniqueBase('clirole');
    await withAdmin((admin) => admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' NOCREATEDB`));
    try {
      const url = new URL(databaseUrl(serverUrl(), 'postgres'));
      url.username = role;
      url.password = 'pw';
      const doctor = pgwork(['doctor', '--config', CONFIG, '--url', url.toString()], { FIXTURE_BASE_NAME: 'clidoc' });
      expect(doctor.stdout).toContain(
        `FAIL  role         role "${role}" cannot create databases; run ALTER ROLE "${role}" CREATEDB as a superuser`,
      );
      expect(doctor.status).toBe(1);
    } finally {
      await withAdmin((admin) => admin.query(`DROP ROLE ${role}`));
    }

    const unreachable = pgwork(['doctor', '--config', CONFIG, '--url', 'postgres://app@127.0.0.1:1/app'], {
      FIXTURE_BASE_NAME: 'clidoc',
    });
    expect(unreachable.stdout).toMatch(
      /FAIL\s+server\s+cannot reach Postgres at postgres:\/\/app@127.0.0.1:1\/postgres \(ECONNREFUSED\); start that server or fix --url/,
    );
    expect(unreachable.status).toBe(1);

    writeFileSync(join(project, 'turbo.json'), JSON.stringify({ tasks: { test: {} } }));
    const turbo = pgwork(['doctor', '--json'], {}, project);
    expect(turbo.json.checks.slice(0, 2)).toEqual([
      expect.objectContaining({
        check: 'config',
        ok: false,
        detail: expect.stringContaining(
          `no Jest, Vitest or pgwork config with pgwork's options in ${project}; run pgwork in the folder`,
        ),
      }),
      expect.objectContaining({
        check: 'turbo',
        ok: false,
        detail: expect.stringContaining('add "globalPassThroughEnv": ["PGWORK_*", "DATABASE_URL"] to it'),
      }),
    ]);
    expect(turbo.status).toBe(1);
  });
});

describe('kept embedded clusters', () => {
  // A cache of its own: main keeps a run of database isolation, worker-1 and
  // worker-2 server isolation's (a run each), all stopped when a test begins.
  const base = uniqueBase('clikept');
  let cache = '';
  let clusters: Record<'main' | 'worker-1' | 'worker-2', string>;
  let serverRuns: { 'worker-1': string; 'worker-2': string };
  const names = () => Object.keys(clusters) as Array<keyof typeof clusters>;
  const running = () => names().filter((name) => serverPid(clusters[name]) !== undefined);
  // The CLI's keepers keep what it starts up: a test sees which it started.
  const cli = (args: string[], isolation = 'database') =>
    pgwork([...args, '--config', CONFIG, '--url', 'embedded'], {
      PGWORK_EMBEDDED_DIR: cache,
      PGWORK_EMBEDDED_IDLE_SECONDS: '600',
      FIXTURE_BASE_NAME: base,
      FIXTURE_ISOLATION: isolation,
    });
  async function stopAll(): Promise<void> {
    for (const name of running()) process.kill(serverPid(clusters[name])!, 'SIGINT');
    for (
      let waited = 0;
      names().some((name) => existsSync(join(clusters[name], 'data', 'postmaster.pid')));
      waited += 50
    ) {
      if (waited > 20_000) throw new Error(`servers still up: ${running().join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), 'pgwork-cli-kept-'));
    chmodSync(cache, 0o755); // as root, the server runs as "postgres"
    const key = join(cache, `pg${embeddedBinaries().major}-${process.platform}-${process.arch}`);
    clusters = { main: join(key, 'main'), 'worker-1': join(key, 'worker-1'), 'worker-2': join(key, 'worker-2') };
    const keep = {
      PGWORK_EMBEDDED_DIR: cache,
      PGWORK_EMBEDDED_IDLE_SECONDS: '0',
      PGWORK_KEEP: '1',
      FIXTURE_BASE_NAME: base,
    };
    expectPassed(runFixture(keep), 8);
    const server = runFixture({ ...keep, FIXTURE_ISOLATION: 'server' });
    expectPassed(server, 8);
    const runOf = (worker: number) =>
      server.databases
        .find((name) => name.endsWith(`_w${worker}`))!
        .split('_')
        .at(-2)!;
    serverRuns = { 'worker-1': runOf(1), 'worker-2': runOf(2) };
    await stopAll();
  });
  afterAll(() => removeClusters(cache));

  it('ls lists a stopped cluster as stopped without starting it; --start looks inside', async () => {
    const ls = cli(['ls', '--json']);
    expect(ls.status).toBe(0);
    expect(ls.json.servers).toEqual(
      names().map((name) => ({
        server: `embedded Postgres in ${clusters[name]}`,
        absent: expect.stringMatching(
          /^stopped \d+[smhd] ago \(\d[\d.]* [kMG]B on disk\), so no run is live in it; .*pgwork ls --start/,
        ),
      })),
    );
    expect(cli(['ls']).stdout).toContain(`embedded Postgres in ${clusters['worker-2']}: stopped `);
    expect(running()).toEqual([]);
    for (const name of names()) expect(existsSync(join(clusters[name], 'data', 'postmaster.pid'))).toBe(false);

    const started = cli(['ls', '--start', '--json']);
    expect(started.status).toBe(0);
    // Each cluster's kept run, by its objects' workers: main's database run, and server isolation's per worker.
    const workers = started.json.servers.map(
      (server: { runs: Array<{ baseName: string; objects: Array<{ worker: number }> }> }) =>
        server.runs.filter((run) => run.baseName === base).map((run) => run.objects.map((o) => o.worker)),
    );
    expect(workers).toEqual([[[1, 2]], [[1]], [[2]]]);
    expect(running()).toEqual(names());
    // Running ones are looked into without --start.
    expect(cli(['ls', '--json']).json.servers.map((server: { runs: unknown[] }) => server.runs.length)).toEqual([
      1, 1, 1,
    ]);
    await stopAll();
  });

  it("url starts only the cluster its isolation keeps the worker's run in; the rest only when that holds none", async () => {
    const server = cli(['url', '2'], 'server');
    expect(server.status).toBe(0);
    expect(await rows(server.stdout.trim(), 'SELECT current_database() AS db')).toEqual([
      { db: `${base}_${serverRuns['worker-2']}_w2` },
    ]);
    expect(running()).toEqual(['worker-2']);
    await stopAll();

    const database = cli(['url', '1']);
    expect(database.status).toBe(0);
    expect(new URL(database.stdout.trim()).pathname).toMatch(new RegExp(`^/${base}_[a-z0-9]{8}_w1$`));
    expect(running()).toEqual(['main']);
    await stopAll();

    // A run main does not hold: never "no run" for a cluster not looked into.
    const elsewhere = cli(['url', '1', '--run', serverRuns['worker-1']]);
    expect(elsewhere.status).toBe(0);
    expect(new URL(elsewhere.stdout.trim()).pathname).toBe(`/${base}_${serverRuns['worker-1']}_w1`);
    await stopAll();
  });

  it('clean starts the clusters of the isolation it cleans for and says which it left stopped; --start cleans every one', async () => {
    const dry = cli(['clean', '--dry-run', '--json']);
    expect(dry.status).toBe(0);
    expect(dry.json.servers[0].planned.map((p: { name: string }) => p.name).sort()).toEqual([
      expect.stringMatching(new RegExp(`^${base}_[a-z0-9]{8}_w1$`)),
      expect.stringMatching(new RegExp(`^${base}_[a-z0-9]{8}_w2$`)),
    ]);
    expect(dry.json.servers.slice(1)).toEqual(
      (['worker-1', 'worker-2'] as const).map((name) => ({
        server: `embedded Postgres in ${clusters[name]}`,
        absent: expect.stringMatching(/^stopped .*; pgwork clean --start/),
      })),
    );
    expect(running()).toEqual(['main']);
    await stopAll();

    const all = cli(['clean', '--start', '--yes', '--json']);
    expect(all.status).toBe(0);
    expect(all.json.servers.map((server: { dropped: string[] }) => server.dropped.length)).toEqual([2, 1, 1]);
    const left = cli(['ls', '--json']).json.servers.flatMap((server: { runs: unknown[] }) => server.runs);
    expect(left).toEqual([]);
    await stopAll();
  });
});

describe('bad input', () => {
  it.each([
    [['list'], 'pgwork: unknown command "list"; use ls, clean, doctor, url (pgwork --help).'],
    [['ls', '--force'], 'pgwork: unknown option --force; see pgwork --help.'],
    [['ls', '--yes'], 'pgwork: --yes is an option of pgwork clean, not of pgwork ls.'],
    [['url', '--start'], 'pgwork: --start is an option of pgwork clean and ls, not of pgwork url.'],
    [
      ['clean', '--templates', '--older-than', 'week'],
      'pgwork: --older-than "week" is not a duration; use e.g. 7d, 12h or 30m.',
    ],
    [['clean', '--older-than', '7d'], 'pgwork: --older-than applies to templates; add --templates.'],
    [
      ['clean', '--templates', '--all-base-names'],
      "pgwork: --all-base-names drops other projects' templates by age alone, so it needs --older-than (e.g. 30d).",
    ],
    [['url', '0', '--base-name', 'x'], 'pgwork: the worker number must be a whole number from 1 (got "0").'],
    [
      ['ls', '--base-name', 'My-App'],
      'pgwork: --base-name "My-App" is not a valid base name: use 1-40 characters of a-z, 0-9 and _, starting with a letter (for example "myapp_test").',
    ],
    [
      ['ls', '--config', 'nope.js'],
      `pgwork: --config nope.js: no such file in ${__dirname}; name your Jest, Vitest or pgwork config.`,
    ],
  ])('pgwork %j: one line naming the fix', (args, message) => {
    const run = pgwork(args);
    expect(run.stderr).toBe(`${message}\n`);
    expect(run.stdout).toBe('');
    expect(run.status).toBe(1);
  });

  it('--json puts the error in the JSON too', () => {
    const run = pgwork(['clean', '--templates', '--json', '--base-name', 'x']);
    expect(run.json).toEqual({
      error: {
        code: 'INVALID_OPTION',
        message: expect.stringContaining(
          "clean --templates keeps the current template, which only the project's config can say",
        ),
      },
    });
    expect(run.status).toBe(1);
  });
});
