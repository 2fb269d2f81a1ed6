// `pnpm bench`: pgwork against the ways teams do it today, side by side in one
// run on one server. Every figure is a median (with min and max) over repeated
// runs; ratios compare figures taken in this same run.
//
//   pnpm bench [-- --json] [--runs N] [--suite-runs N] [--only setup,reset,real,suite,playwright,scaling]
//              [--examples drizzle,raw-pg] [--runners jest,vitest] [--embedded-dir DIR]
//
// `real` is the reset on a generated schema of a real app's shape (scripts/bench/real-shape.mjs).
// `suite` is the shared-suite examples' whole suites under each runner they have a config for
// (Jest, Vitest, node:test, Mocha, Bun); `playwright` the Playwright
// examples' (a playwright config), --suite-runs repetitions each too.
//
// Uses the server in PGWORK_DATABASE_URL, else starts the embedded one (in
// --embedded-dir when given: e.g. /tmp to measure on disk instead of RAM).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverExamples, ROOT, RUNNERS, runExample, sharesSuite, underEachRunner } from './examples.mjs';
import { catalogShape, describeShape, REAL_SHAPE_DEFAULTS, realShapeSchema } from './bench/real-shape.mjs';
import { dirtySql, syntheticSchema } from './bench/schemas.mjs';
import { progress, ratio, repeat, summarise, time } from './bench/stats.mjs';

const require = createRequire(import.meta.url);
import { CORE_DIST, core } from './core.mjs';
const { withScratchDatabase } = require(join(ROOT, 'packages/core/dist/testing/server.js'));

const args = process.argv.slice(2).filter((arg) => arg !== '--');
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : args[index + 1];
};
const json = args.includes('--json');
const runs = Number(option('runs', 15));
const suiteRuns = Number(option('suite-runs', 3));
const SECTIONS = ['setup', 'reset', 'real', 'suite', 'playwright', 'scaling'];
const only = new Set((option('only', SECTIONS.join(',')) ?? '').split(','));
// --runners jest,vitest: the suite section under those runners only.
const suiteRunners = (option('runners', '') ?? '').split(',').filter(Boolean);
for (const name of only) {
  if (!SECTIONS.includes(name)) {
    console.error(`bench: --only takes ${SECTIONS.join(', ')} (got ${name}).`);
    process.exit(2);
  }
}
for (const [name, value] of [
  ['runs', runs],
  ['suite-runs', suiteRuns],
]) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench: --${name} must be a positive integer (got ${option(name)}).`);
    process.exit(2);
  }
}

// The bench's own kept embedded cluster (what a user gets by default: Unix socket, no password),
// under --embedded-dir (e.g. /tmp, to measure on disk) or the RAM disk; stopped when the bench ends.
const benchClusters = join(option('embedded-dir') ?? core.embeddedBaseDirectory(), `pgwork-bench-${process.pid}`);
process.env.PGWORK_EMBEDDED_DIR = benchClusters;
process.env.PGWORK_EMBEDDED_IDLE_SECONDS = '0';
const given = process.env.PGWORK_DATABASE_URL;
const embedded = given ? undefined : await core.attachEmbeddedCluster({ rootDir: ROOT, name: 'bench' });
const serverUrl = given ?? embedded.url;
const results = {
  version: 1,
  machine: {},
  setup: {},
  isolation: {},
  reset: {},
  firstReset: {},
  real: {},
  runCost: {},
  typeormReset: {},
  suite: {},
  playwright: {},
  scaling: {},
};

try {
  const admin = await core.connect(core.databaseUrl(serverUrl, 'postgres'));
  results.machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    postgres: (await admin.query(`SELECT current_setting('server_version') AS v`)).rows[0].v,
    server: embedded ? `kept embedded cluster in ${embedded.directory}` : 'PGWORK_DATABASE_URL',
    runs,
    suiteRuns,
  };
  await admin.end();
  // --examples raw-pg,drizzle: only those (by the end of their folder name).
  const wanted = (option('examples', '') ?? '').split(',').filter(Boolean);
  const all = discoverExamples().filter((e) => !wanted.length || wanted.some((w) => e.short.endsWith(w)));
  // The examples of the shared suite (a Jest config: their adapter, --runInBand, Vitest); Playwright's apart.
  const examples = all.filter(sharesSuite);
  if (only.has('reset')) await benchReset();
  if (only.has('reset')) await benchFirstReset();
  if (only.has('real')) await benchReal();
  if (only.has('setup')) await benchSetup(examples);
  if (only.has('setup')) await benchIsolation(examples);
  if (only.has('setup')) await benchRunCost(examples);
  if (only.has('scaling')) await benchScaling();
  if (only.has('suite')) await benchSuites(examples);
  if (only.has('playwright')) await benchPlaywright(all.filter((example) => example.runner === 'playwright'));
} finally {
  progress('');
  await embedded?.detach();
  await core.removeClusters(benchClusters);
}
printTables();
if (json) console.log(JSON.stringify(results));

/** A config for startRun against the bench server. */
function runConfig(adapter, rootDir, baseName, extra = {}) {
  return core.testRunConfig(adapter, baseName, {
    rootDir,
    server: { url: serverUrl, source: 'bench' },
    workerIds: [],
    ...extra,
  });
}

/** An adapter over a synthetic schema of n tables. */
function syntheticAdapter(tables) {
  return ddlAdapter('synthetic', syntheticSchema(tables));
}

/** An adapter whose migration is one script. */
function ddlAdapter(name, ddl) {
  return {
    name,
    describe: () => ({
      fingerprint: core.hashParts([ddl]),
      bookkeepingTables: [],
      isolation: ['database', 'schema', 'server'],
      reset: ['empty'],
    }),
    migrate: ({ client }) => client.query(ddl),
  };
}

async function benchReset() {
  for (const tables of [20, 100, 500]) {
    await withScratchDatabase(async (url) => {
      const client = await core.connect(url);
      try {
        await client.query(syntheticSchema(tables));
        const resetter = new core.Resetter(client);
        const all = (await core.applicationTables(client)).map(core.qualifiedName).join(', ');
        for (const dirty of [0, 2, 'all']) {
          progress(`reset: ${tables} tables, ${dirty} dirty`);
          const fill = dirty === 0 ? '' : dirtySql(tables, dirty);
          const dirtyThen = async (measure) => {
            if (fill) await client.query(fill);
            return time(measure);
          };
          await resetter.reset();
          const pgwork = await repeat(runs, () => dirtyThen(() => resetter.reset()));
          const truncate = await repeat(runs, () => dirtyThen(() => client.query(`TRUNCATE ${all} RESTART IDENTITY`)));
          // Transaction per test: BEGIN before the test, ROLLBACK after it.
          const rollback = await repeat(runs, async () => {
            const begin = await time(() => client.query('BEGIN'));
            if (fill) await client.query(fill);
            return begin + (await time(() => client.query('ROLLBACK')));
          });
          results.reset[`t${tables}_d${dirty}`] = {
            tables,
            dirty,
            pgwork,
            truncate,
            rollback,
            truncateOverPgwork: ratio(truncate.median, pgwork.median),
          };
        }
      } finally {
        await client.end();
      }
    }, serverUrl);
  }
}

/**
 * The reset a test file starts with, through the worker session Jest's setup
 * file uses. A worker's first file opens the session (connect, read the
 * catalog, plan the probe) and then resets; every later file in that worker
 * process gets the kept session and resets at the steady cost. `afterTruncate`
 * is a reset right after one that emptied a big table with TRUNCATE.
 */
async function benchFirstReset() {
  for (const tables of [100, 500]) {
    const dirty = dirtySql(tables, 2);
    const run = await core.startRun(runConfig(syntheticAdapter(tables), ROOT, `bench_first_${tables}`));
    try {
      const open = [];
      const firstFile = [];
      const nextFile = [];
      const afterTruncate = [];
      const steady = [];
      for (let i = 0; i < runs; i++) {
        progress(`first reset: ${tables} tables, ${i + 1}/${runs}`);
        const workerId = i + 1;
        // The database exists already, as globalSetup's background clone leaves it; a test wrote 2 tables.
        const cloned = await core.openWorkerSession(run.state, workerId);
        await cloned.client.query(dirty);
        await cloned.close();
        let session;
        open.push(await time(async () => (session = await core.keptWorkerSession(run.state, workerId))));
        firstFile.push(await time(() => session.reset()));
        await session.client.query(dirty);
        nextFile.push(await time(async () => (await core.keptWorkerSession(run.state, workerId)).reset()));
        await session.client.query(dirty);
        steady.push(await time(() => session.reset()));
        await session.client.query(
          `INSERT INTO t1 (label) SELECT 'big' FROM generate_series(1, ${core.DELETE_ROW_LIMIT * 2})`,
        );
        await session.reset();
        await session.client.query(dirty);
        afterTruncate.push(await time(() => session.reset()));
      }
      results.firstReset[`t${tables}`] = {
        tables,
        open: summarise(open),
        firstFile: summarise(firstFile),
        nextFile: summarise(nextFile),
        afterTruncate: summarise(afterTruncate),
        steady: summarise(steady),
      };
    } finally {
      const kept = await core.keptWorkerSession(run.state, runs).catch(() => undefined);
      await kept?.close();
      await run.finish();
    }
  }
}

/**
 * The reset on a generated schema of a real app's shape (scripts/bench/real-shape.mjs:
 * 500+ tables in 10 schemas, triggers that write other tables, self-references,
 * partitions), through worker sessions on clones of one template, as a run has them.
 * A test's rows go in through a connection of the app's own, never the reset's
 * (pgwork may hold off triggers on its connection: the triggers must fire as in
 * the app); TRUNCATE and BEGIN/ROLLBACK run there too, as a hand-written setup
 * would run them.
 *
 * - steady reset with 0 dirty tables, 3 related ones (a self-referencing type,
 *   a parent with triggers, a child of it; the triggers write a few more) and
 *   all, against TRUNCATE of every application table and BEGIN/ROLLBACK. The
 *   three ways are interleaved, their order rotated each repetition, and each
 *   timed round follows an untimed one of the same way: it measures that way's
 *   steady state (a TRUNCATE of everything would otherwise make pgwork's next
 *   probe re-plan, and a rollback leaves sequences moved), not the cost of
 *   following another way;
 * - the first reset of a later test file: the kept session, as benchFirstReset's nextFile;
 * - the 3-related reset at 1, 2 and 4 workers: separate databases, resets at once
 *   from separate connections, the worker counts interleaved.
 */
async function benchReal() {
  const shape = realShapeSchema();
  const real = results.real;
  progress('real shape: template');
  const run = await core.startRun(runConfig(ddlAdapter('real-shape', shape.ddl), ROOT, 'bench_real'));
  const workers = [];
  try {
    for (const id of [1, 2, 3, 4]) {
      const session = await core.openWorkerSession(run.state, id);
      workers.push({ session, app: await core.connect(session.url) });
    }
    const [first] = workers;
    real.schema = {
      generator: { seed: REAL_SHAPE_DEFAULTS.seed, tablesAimedAt: REAL_SHAPE_DEFAULTS.tables },
      ...(await catalogShape(first.app)),
    };
    await first.session.reset();
    await first.app.query(shape.dirtyRelated);
    real.related = { tables: shape.relatedTables, holdingRows: await tablesHoldingRows(first.app) };
    await first.session.reset();
    await realSteady(first, shape);
    await realNextFile(run, shape);
    await realWorkers(workers, shape);
  } finally {
    await Promise.all(workers.flatMap(({ session, app }) => [session.close(), app.end()]));
    await run.finish();
  }
  real.targets = realTargets(real);
}

/** The application tables that hold rows, by name. */
async function tablesHoldingRows(client) {
  const tables = await core.applicationTables(client);
  const { rows } = await client.query(
    tables
      .map((t) => `SELECT '${t.schema}.${t.name}' AS name WHERE EXISTS (SELECT 1 FROM ${core.qualifiedName(t)})`)
      .join(' UNION ALL '),
  );
  return rows.map((row) => row.name);
}

async function realSteady({ session, app }, shape) {
  const all = (await core.applicationTables(app)).map(core.qualifiedName).join(', ');
  const ways = {
    pgwork: (fill) => fillThen(app, fill, () => session.reset()),
    truncate: (fill) => fillThen(app, fill, () => app.query(`TRUNCATE ${all} RESTART IDENTITY`)),
    // Transaction per test: BEGIN before the test, ROLLBACK after it.
    rollback: async (fill) => {
      const begin = await time(() => app.query('BEGIN'));
      if (fill) await app.query(fill);
      return begin + (await time(() => app.query('ROLLBACK')));
    },
  };
  const names = Object.keys(ways);
  const levels = { d0: ['none', ''], related: ['related', shape.dirtyRelated], all: ['all', shape.dirtyAll] };
  results.real.reset = {};
  for (const [key, [dirty, fill]] of Object.entries(levels)) {
    const samples = Object.fromEntries(names.map((name) => [name, []]));
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length];
        progress(`real shape: reset, ${dirty} dirty, ${i + 1}/${runs}, ${name}`);
        await ways[name](fill); // untimed: the timed round follows one of its own way
        samples[name].push(await ways[name](fill));
      }
    }
    const [pgwork, truncate, rollback] = names.map((name) => summarise(samples[name]));
    results.real.reset[key] = {
      dirty,
      pgwork,
      truncate,
      rollback,
      truncateOverPgwork: ratio(truncate.median, pgwork.median),
      pgworkOverRollback: ratio(pgwork.median, rollback.median),
    };
  }
}

async function fillThen(client, fill, measure) {
  if (fill) await client.query(fill);
  return time(measure);
}

/** A worker's first file, then a later file's first reset through the kept session, then a steady one. */
async function realNextFile(run, shape) {
  const open = [];
  const firstFile = [];
  const nextFile = [];
  const steady = [];
  let session;
  try {
    for (let i = 0; i < runs; i++) {
      progress(`real shape: first reset of a file, ${i + 1}/${runs}`);
      const workerId = 100 + i;
      // The database exists already, as globalSetup's background clone leaves it; a test wrote 3 related tables.
      const cloned = await core.openWorkerSession(run.state, workerId);
      await cloned.close();
      const app = await core.connect(cloned.url);
      try {
        await app.query(shape.dirtyRelated);
        open.push(await time(async () => (session = await core.keptWorkerSession(run.state, workerId))));
        firstFile.push(await time(() => session.reset()));
        await app.query(shape.dirtyRelated);
        nextFile.push(await time(async () => (await core.keptWorkerSession(run.state, workerId)).reset()));
        await app.query(shape.dirtyRelated);
        steady.push(await time(() => session.reset()));
      } finally {
        await app.end();
      }
    }
  } finally {
    await session?.close();
  }
  results.real.firstReset = {
    open: summarise(open),
    firstFile: summarise(firstFile),
    nextFile: summarise(nextFile),
    steady: summarise(steady),
  };
}

async function realWorkers(workers, shape) {
  const counts = [1, 2, 4];
  const perWorker = Object.fromEntries(counts.map((n) => [n, []]));
  const batch = Object.fromEntries(counts.map((n) => [n, []]));
  const round = async (n) => {
    const active = workers.slice(0, n);
    await Promise.all(active.map(({ app }) => app.query(shape.dirtyRelated)));
    const started = performance.now();
    const each = await Promise.all(active.map(({ session }) => time(() => session.reset())));
    return { each, whole: performance.now() - started };
  };
  await round(workers.length); // each connection's first reset, untimed
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < counts.length; k++) {
      const n = counts[(i + k) % counts.length];
      progress(`real shape: ${n} workers resetting at once, ${i + 1}/${runs}`);
      const { each, whole } = await round(n);
      perWorker[n].push(...each);
      batch[n].push(whole);
    }
  }
  const entry = {};
  for (const n of counts)
    entry[`w${n}`] = { workers: n, perWorker: summarise(perWorker[n]), batch: summarise(batch[n]) };
  entry.w4OverW1 = ratio(entry.w4.perWorker.median, entry.w1.perWorker.median);
  results.real.workers = entry;
}

/** The issue's targets for the real shape, each met or not by this run's figures. */
function realTargets(real) {
  const related = real.reset.related;
  return [
    {
      target: 'steady reset, 3 related dirty tables <= 5 ms',
      measured: `${related.pgwork.median} ms`,
      met: related.pgwork.median <= 5,
    },
    {
      target: 'steady reset, 3 related dirty tables >= 50x faster than TRUNCATE of all',
      measured: `${related.truncateOverPgwork}x (${related.truncate.median} / ${related.pgwork.median} ms)`,
      met: related.truncateOverPgwork >= 50,
    },
    {
      target: 'first reset of a later test file <= 10 ms',
      measured: `${real.firstReset.nextFile.median} ms`,
      met: real.firstReset.nextFile.median <= 10,
    },
    {
      target: 'reset at 4 workers within 1.5x of 1 worker',
      measured: `${real.workers.w4OverW1}x (${real.workers.w4.perWorker.median} / ${real.workers.w1.perWorker.median} ms)`,
      met: real.workers.w4OverW1 <= 1.5,
    },
  ];
}

/** Each example's adapter, as its Jest config names it (found by `jest --showConfig`). */
function exampleAdapter(example) {
  const jest = createRequire(join(example.dir, 'package.json')).resolve('jest/bin/jest');
  const shown = JSON.parse(
    execFileSync(process.execPath, [jest, '--showConfig'], {
      cwd: example.dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const project = shown.configs[0];
  const reference = project.globals.pgwork.adapter;
  return { reference, rootDir: project.rootDir, adapter: core.loadAdapter(reference, { rootDir: project.rootDir }) };
}

async function benchSetup(examples) {
  const targets = examples.map((example) => ({
    label: example.short.replace('examples/', ''),
    ...exampleAdapter(example),
  }));
  targets.push({ label: 'synthetic-100', adapter: syntheticAdapter(100), rootDir: ROOT });
  targets.push({ label: 'synthetic-500', adapter: syntheticAdapter(500), rootDir: ROOT });
  for (const target of targets) {
    const baseName = `bench_${target.label.replace(/[^a-z0-9]/g, '_')}`;
    const coldRuns = Math.max(3, Math.ceil(runs / 5));
    progress(`setup: ${target.label}, cold`);
    const cold = await repeat(coldRuns, async () => {
      let run;
      const elapsed = await time(async () => {
        run = await core.startRun(runConfig(target.adapter, target.rootDir, baseName, { rebuild: true }));
        const session = await core.openWorkerSession(run.state, 1);
        await session.close();
      });
      await run.finish();
      return elapsed;
    });
    progress(`setup: ${target.label}, warm`);
    const run = await core.startRun(runConfig(target.adapter, target.rootDir, baseName));
    const clone = [];
    const ready = [];
    try {
      for (let i = 0; i < runs; i++) {
        // First open clones on demand; the second finds the database ready, as a
        // worker finds the one globalSetup prewarmed while Jest started it.
        for (const samples of [clone, ready]) {
          let session;
          samples.push(await time(async () => (session = await core.openWorkerSession(run.state, i + 1))));
          await session.close();
        }
      }
    } finally {
      await run.finish();
    }
    progress(`setup: ${target.label}, hand-written`);
    const handRuns = Math.max(3, Math.ceil(runs / 3));
    const handwritten =
      target.label === 'typeorm'
        ? await typeormHandwritten(target, handRuns)
        : await handwrittenSetup(target, handRuns);
    const warm = { clone: summarise(clone), ready: summarise(ready) };
    if (target.label === 'typeorm') results.typeormReset.pgwork = await typeormPgworkReset(target, baseName);
    results.setup[target.label] = {
      cold,
      warm,
      handwritten,
      handwrittenOverReady: ratio(handwritten.median, warm.ready.median),
      handwrittenOverClone: ratio(handwritten.median, warm.clone.median),
    };
  }
  const { pgwork, rebuild } = results.typeormReset;
  if (pgwork && rebuild) results.typeormReset.rebuildOverPgwork = ratio(rebuild.median, pgwork.median);
}

/** pgwork's reset on the TypeORM example's schema, after a test wrote a url and a click. */
async function typeormPgworkReset(target, baseName) {
  const run = await core.startRun(runConfig(target.adapter, target.rootDir, baseName));
  try {
    const session = await core.openWorkerSession(run.state, 1);
    try {
      return await repeat(runs, async () => {
        await session.client.query(`INSERT INTO urls (slug, target) VALUES ('a', 'b') RETURNING id`);
        await session.client.query(`INSERT INTO clicks (url_id) SELECT min(id) FROM urls`);
        return time(() => session.reset());
      });
    } finally {
      await session.close();
    }
  } finally {
    await run.finish();
  }
}

/**
 * What a hand-written globalSetup does per worker: CREATE DATABASE, then migrate
 * the way the project does: the adapter's own migration, except for Drizzle,
 * where teams run `drizzle-kit push` against each worker's database.
 */
async function handwrittenSetup(target, count) {
  const admin = await core.connect(core.databaseUrl(serverUrl, 'postgres'));
  try {
    return await repeat(count, async (i) => {
      const database = `bench_hand_${core.newRunId()}_${i}`;
      const url = core.databaseUrl(serverUrl, database);
      const elapsed = await time(async () => {
        await admin.query(`CREATE DATABASE ${database}`);
        if (target.label === 'drizzle') drizzleKitPush(target.rootDir, url);
        else await core.withClient(url, {}, (client) => target.adapter.migrate({ url, database, client }));
      });
      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      return elapsed;
    });
  } finally {
    await admin.end();
  }
}

function drizzleKitPush(rootDir, url) {
  const kit = core.installedPackage('drizzle-kit', rootDir);
  execFileSync(process.execPath, [join(kit.dir, 'bin.cjs'), 'push', '--force'], {
    cwd: rootDir,
    env: { ...process.env, DATABASE_URL: url },
    stdio: 'ignore',
  });
}

/** TypeORM's hand-written setup runs synchronize in-process, with the entities already loaded. */
async function typeormHandwritten(target, count) {
  const module = join(target.rootDir, target.reference.options.dataSource);
  const script = join(ROOT, 'scripts/bench/typeorm-handwritten.cjs');
  const request = { module, serverUrl, runs: count, prefix: `bench_hand_${core.newRunId()}` };
  const answer = await core.runChild(script, request, {
    cwd: target.rootDir,
    loads: { module, option: 'bench' },
    env: { DATABASE_URL: serverUrl, PGWORK_CORE_DIST: CORE_DIST },
  });
  // TypeORM's own per-test reset (synchronize(true), as hand-written setups do), next to pgwork's.
  results.typeormReset.rebuild = summarise(answer.rebuild);
  return summarise(answer.samples);
}

/**
 * What one worker's isolation costs to set up, per mode, on the raw-pg example:
 * a database cloned from the template, a schema migrated in place, a server of its own.
 */
async function benchIsolation(examples) {
  const example = examples.find((e) => e.short.endsWith('raw-pg')) ?? examples[0];
  const target = exampleAdapter(example);
  const config = (extra = {}) => runConfig(target.adapter, target.rootDir, 'bench_isolation', extra);
  const count = Math.max(3, Math.ceil(runs / 3));
  results.isolation.example = example.short;
  progress('isolation: database');
  const run = await core.startRun(config());
  try {
    results.isolation.database = await repeat(count, async (i) => {
      let session;
      const elapsed = await time(async () => (session = await core.openWorkerSession(run.state, i + 1)));
      await session.close();
      return elapsed;
    });
  } finally {
    await run.finish();
  }
  progress('isolation: schema');
  results.isolation.schema = await repeat(count, async () => {
    let schemaRun;
    const elapsed = await time(async () => {
      schemaRun = await core.startRun(config({ isolation: 'schema', workerIds: [1] }));
    });
    await schemaRun.finish();
    return elapsed;
  });
  progress('isolation: server');
  results.isolation.server = await repeat(Math.max(2, Math.ceil(runs / 7)), async () => {
    let group;
    const elapsed = await time(async () => {
      group = await core.startRun(
        config({ server: { url: undefined, source: 'bench' }, isolation: 'server', workerIds: [1] }),
      );
      const session = await core.openWorkerSession(group.state, 1);
      await session.close();
    });
    await group.finish();
    return elapsed;
  });
}

/**
 * The fixed cost of a run at 4 workers (globalSetup with its background
 * clones, then teardown) on the raw-pg example, three ways interleaved:
 * the embedded default cold (no cache: initdb, start, migrate), the embedded
 * default warm (its kept cluster up, template there), and the bench's server
 * with the template already built.
 */
async function benchRunCost(examples) {
  const example = examples.find((e) => e.short.endsWith('raw-pg')) ?? examples[0];
  const target = exampleAdapter(example);
  const base = 'bench_runcost';
  const ways = {
    embeddedCold: { server: { url: undefined, source: 'bench' }, cold: true },
    embeddedWarm: { server: { url: undefined, source: 'bench' }, cold: false },
    keptServer: { server: { url: serverUrl, source: 'bench' }, cold: false },
  };
  const cache = join(benchClusters, 'runcost');
  const oneRun = async (way) => {
    const config = runConfig(target.adapter, target.rootDir, base, { server: way.server, workerIds: [1, 2, 3, 4] });
    config.workers = 4;
    let run;
    const ms = await time(async () => {
      run = await core.startRun(config);
      await run.finish();
    });
    return { ms, built: run.summaries[0].template?.built };
  };
  const saved = process.env.PGWORK_EMBEDDED_DIR;
  process.env.PGWORK_EMBEDDED_DIR = cache;
  process.env.PGWORK_EMBEDDED_IDLE_SECONDS = '600';
  try {
    await oneRun(ways.embeddedWarm); // the template on both servers, as after a developer's first run
    await oneRun(ways.keptServer);
    const samples = Object.fromEntries(Object.keys(ways).map((key) => [key, []]));
    const built = Object.fromEntries(Object.keys(ways).map((key) => [key, []]));
    const names = Object.keys(ways);
    const reps = Math.max(3, Math.ceil(runs / 3));
    for (let i = 0; i < reps; i++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length];
        progress(`run cost: ${name} ${i + 1}/${reps}`);
        if (ways[name].cold) await core.removeClusters(cache);
        const { ms, built: wasBuilt } = await oneRun(ways[name]);
        samples[name].push(ms);
        built[name].push(wasBuilt);
      }
    }
    for (const name of names) results.runCost[name] = { ...summarise(samples[name]), templateBuilt: built[name] };
    results.runCost.example = example.short;
    results.runCost.warmOverKept = ratio(results.runCost.embeddedWarm.median, results.runCost.keptServer.median);
    results.runCost.coldOverWarm = ratio(results.runCost.embeddedCold.median, results.runCost.embeddedWarm.median);
  } finally {
    process.env.PGWORK_EMBEDDED_DIR = saved;
    process.env.PGWORK_EMBEDDED_IDLE_SECONDS = '0';
    await core.removeClusters(cache);
  }
}

async function benchScaling() {
  const adapter = syntheticAdapter(100);
  const run = await core.startRun(runConfig(adapter, ROOT, 'bench_scaling'));
  try {
    let nextWorker = 1;
    for (const workers of [1, 2, 4, 8]) {
      progress(`scaling: ${workers} workers at once`);
      const perWorker = [];
      const batch = await repeat(Math.max(3, Math.ceil(runs / 3)), async () => {
        const ids = Array.from({ length: workers }, () => nextWorker++);
        const sessions = [];
        const elapsed = await time(() =>
          Promise.all(
            ids.map(async (id) => {
              const started = performance.now();
              sessions.push(await core.openWorkerSession(run.state, id));
              perWorker.push(performance.now() - started);
            }),
          ),
        );
        await Promise.all(sessions.map((session) => session.close()));
        return elapsed;
      });
      results.scaling[`w${workers}`] = { workers, perWorker: summarise(perWorker), batch };
    }
  } finally {
    await run.finish();
  }
  results.scaling.resetByTables = Object.fromEntries(
    Object.values(results.reset)
      .filter((entry) => entry.dirty === 2)
      .map((entry) => [`t${entry.tables}`, { pgwork: entry.pgwork.median, truncate: entry.truncate.median }]),
  );
}

/**
 * Each example's whole suite with pgwork, unisolated (4 workers on one shared
 * database: wrong, the floor pgwork's overhead is measured against) and
 * serial, under Jest and each other runner the example has a config for
 * (Vitest, node:test, Mocha, Bun). All
 * of an example's runs are interleaved, their order rotated each repetition, so
 * load that drifts during the bench lands on all alike. pgwork's runs also
 * record each worker's steps (PGWORK_TIMINGS): the wait before a file's first
 * test (connect, first reset) and the reset before each test.
 */
async function benchSuites(examples) {
  // The bench's cluster as a user's default run has it: the apps' URL is loopback TCP with its
  // password (an ORM that cannot read a socket URL, MikroORM, runs too).
  const env = { PGWORK_DATABASE_URL: embedded?.appUrl ?? serverUrl };
  const timings = join(mkdtempSync(join(tmpdir(), 'pgwork-bench-')), 'timings.jsonl');
  const label = (subject) => subject.short.replace('examples/', '');
  for (const example of examples) {
    // One record per runner: its runs' times and failures per mode, pgwork's steps, the overheads.
    const records = underEachRunner(example)
      .filter((subject) => !suiteRunners.length || suiteRunners.includes(subject.runner))
      .map((subject) => ({
        subject,
        modes: {
          pgwork: { extra: {}, args: [], seconds: [], failed: [] },
          unisolated: { extra: { PGWORK_DISABLE: '1' }, args: [], seconds: [], failed: [] },
          serial: {
            extra: { PGWORK_DISABLE: '1' },
            args: RUNNERS[subject.runner].serialArgs,
            seconds: [],
            failed: [],
          },
        },
        steps: { beforeFile: [], beforeTest: [] },
        overheads: [],
      }));
    const rotation = records.flatMap((record) => Object.keys(record.modes).map((mode) => [record, mode]));
    // One warm-up run each builds the template, as it already exists on a developer's server.
    for (const { subject } of records) {
      progress(`suite: ${label(subject)}, warm-up`);
      const warmUp = await runExample(subject, env);
      // A suite that ran no test would be timed as a fast one: stop, with what it said.
      if (!warmUp.total) throw new Error(`${label(subject)} ran no test:\n${warmUp.output.slice(-2000)}`);
    }
    for (let i = 0; i < suiteRuns; i++) {
      const round = new Map(records.map((record) => [record, {}]));
      for (let k = 0; k < rotation.length; k++) {
        const [record, mode] = rotation[(i + k) % rotation.length];
        const { extra, args, seconds, failed } = record.modes[mode];
        progress(`suite: ${label(record.subject)}, repetition ${i + 1}/${suiteRuns}, ${mode}`);
        rmSync(timings, { force: true });
        const outcome = await runExample(record.subject, { ...env, ...extra, PGWORK_TIMINGS: timings }, args);
        round.get(record)[mode] = outcome.seconds * 1000;
        seconds.push(outcome.seconds * 1000);
        failed.push(outcome.failed);
        if (mode === 'pgwork') for (const step of readTimings(timings)) record.steps[step.step]?.push(step.ms);
      }
      for (const [record, ms] of round) record.overheads.push((ms.pgwork / ms.unisolated - 1) * 100);
    }
    for (const { subject, modes, steps, overheads } of records) {
      const entry = Object.fromEntries(
        Object.entries(modes).map(([mode, { seconds, failed }]) => [
          mode,
          { ...summarise(seconds), failedTests: failed },
        ]),
      );
      // Per repetition, pgwork against the unisolated run next to it; then the median and spread of those.
      entry.overheadPct = summarise(overheads);
      entry.speedupOverSerial = ratio(entry.serial.median, entry.pgwork.median);
      entry.fileSetup = summarise(steps.beforeFile);
      entry.resetBeforeTest = summarise(steps.beforeTest);
      if (subject.runner !== 'jest')
        entry.overJest = ratio(entry.pgwork.median, results.suite[label(example)].pgwork.median);
      results.suite[label(subject)] = entry;
    }
  }
}

/**
 * Each Playwright example's suite (browser and API tests, an app server per
 * worker) with pgwork at 1 and 4 workers, and unisolated at 4 (PGWORK_DISABLE=1:
 * every worker and its server on one shared database; wrong, the floor pgwork's
 * overhead is measured against): wall time and failed tests per run. The three
 * are interleaved, their order rotated each repetition, after one warm-up run
 * that builds the template.
 */
async function benchPlaywright(examples) {
  const env = { PGWORK_DATABASE_URL: serverUrl };
  for (const example of examples) {
    const label = example.short.replace('examples/', '');
    const modes = {
      pgwork1: { extra: {}, args: ['--workers=1'], seconds: [], failed: [] },
      pgwork4: { extra: {}, args: ['--workers=4'], seconds: [], failed: [] },
      unisolated4: { extra: { PGWORK_DISABLE: '1' }, args: ['--workers=4'], seconds: [], failed: [] },
    };
    const names = Object.keys(modes);
    const overheads = [];
    const notes = []; // why an isolated run failed: its first failure, or the end of its output
    progress(`playwright: ${label}, warm-up`);
    await runExample(example, env, ['--workers=4']);
    for (let i = 0; i < suiteRuns; i++) {
      const round = {};
      for (let k = 0; k < names.length; k++) {
        const mode = names[(i + k) % names.length];
        const { extra, args, seconds, failed } = modes[mode];
        progress(`playwright: ${label}, repetition ${i + 1}/${suiteRuns}, ${mode}`);
        const outcome = await runExample(example, { ...env, ...extra }, args);
        round[mode] = outcome.seconds * 1000;
        seconds.push(outcome.seconds * 1000);
        // "?": a run with no tests in its report (it could not start).
        failed.push(outcome.total ? outcome.failed : '?');
        if (!extra.PGWORK_DISABLE && (outcome.failed || !outcome.total)) {
          const first = outcome.failures[0];
          const tail = outcome.output
            .trim()
            .split('\n')
            .filter((text) => !/^\s+at /.test(text))
            .slice(-3)
            .join(' / ');
          notes.push(`${mode}, repetition ${i + 1}: ${first ? `${first.file} > ${first.test}: ${first.what}` : tail}`);
        }
      }
      overheads.push((round.pgwork4 / round.unisolated4 - 1) * 100);
    }
    const entry = Object.fromEntries(
      names.map((mode) => [mode, { ...summarise(modes[mode].seconds), failedTests: modes[mode].failed }]),
    );
    // Per repetition, pgwork at 4 against the unisolated run next to it; then the median and spread of those.
    entry.overheadPct = summarise(overheads);
    entry.speedup4Over1 = ratio(entry.pgwork1.median, entry.pgwork4.median);
    entry.isolatedFailures = notes;
    results.playwright[label] = entry;
  }
}

/** The step lines pgwork's workers appended to a PGWORK_TIMINGS file. */
function readTimings(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

function printTables() {
  const ms = (s) => (s ? `${s.median.toFixed(1)} ms (${s.min.toFixed(1)}-${s.max.toFixed(1)})` : '-');
  const line = (...cells) => console.log(cells.map((cell, i) => String(cell).padEnd(i === 0 ? 18 : 26)).join(''));
  const m = results.machine;
  console.log(
    `\npgwork bench: ${m.cores} cores (${m.cpu}), Node ${m.node}, PostgreSQL ${m.postgres} (${m.server}); medians (min-max) of ${m.runs} runs\n`,
  );
  if (Object.keys(results.setup).length) {
    console.log('Per-worker setup');
    line(
      'adapter',
      'cold (build template)',
      'warm: prewarmed',
      'warm: clone on demand',
      'hand-written',
      'hand-written / warm',
    );
    for (const [label, s] of Object.entries(results.setup)) {
      line(
        label,
        ms(s.cold),
        ms(s.warm.ready),
        ms(s.warm.clone),
        ms(s.handwritten),
        `${s.handwrittenOverReady}x / ${s.handwrittenOverClone}x`,
      );
    }
    const { pgwork, rebuild } = results.typeormReset;
    if (pgwork && rebuild) {
      console.log(
        `TypeORM per-test reset: pgwork ${ms(pgwork)}, TypeORM synchronize(true) ${ms(rebuild)}: ${results.typeormReset.rebuildOverPgwork}x`,
      );
    }
    console.log('');
  }
  if (results.runCost.keptServer) {
    const c = results.runCost;
    console.log(
      `Fixed cost of a run (${c.example}, 4 workers: globalSetup with its clones, then teardown): embedded cold ${ms(c.embeddedCold)}, embedded warm ${ms(c.embeddedWarm)}, kept server ${ms(c.keptServer)}; warm / kept ${c.warmOverKept}x, cold / warm ${c.coldOverWarm}x\n`,
    );
  }
  if (results.isolation.database) {
    const i = results.isolation;
    console.log(
      `Per-worker setup by isolation mode (${i.example}): database (clone) ${ms(i.database)}, schema (create + migrate, with run start) ${ms(i.schema)}, server (embedded initdb + start + template + clone) ${ms(i.server)}\n`,
    );
  }
  if (Object.keys(results.reset).length) {
    console.log('Reset between tests');
    line('schema', 'pgwork', 'TRUNCATE all', 'BEGIN/ROLLBACK', 'TRUNCATE / pgwork');
    for (const r of Object.values(results.reset))
      line(
        `${r.tables} tables, ${r.dirty} dirty`,
        ms(r.pgwork),
        ms(r.truncate),
        ms(r.rollback),
        `${r.truncateOverPgwork}x`,
      );
    console.log('');
  }
  if (Object.keys(results.firstReset).length) {
    console.log("A test file's first reset (2 dirty tables), next to the steady one");
    line('schema', "worker's 1st file: open", '1st file: reset', 'next file: reset', 'after a TRUNCATE', 'steady');
    for (const r of Object.values(results.firstReset))
      line(`${r.tables} tables`, ms(r.open), ms(r.firstFile), ms(r.nextFile), ms(r.afterTruncate), ms(r.steady));
    console.log('');
  }
  if (results.real.reset) {
    const r = results.real;
    const wide = (...cells) =>
      console.log(
        cells
          .map((cell, i) => `${String(cell).padEnd(i === 0 ? 26 : 25)} `)
          .join('')
          .trimEnd(),
      );
    console.log(`Real-shape schema (scripts/bench/real-shape.mjs, seed ${r.schema.generator.seed}), from pg_catalog:`);
    console.log(`  real-shape schema: ${describeShape(r.schema)}`);
    console.log(
      `  A test that wrote ${r.related.tables.join(', ')} leaves ${r.related.holdingRows.length} tables with rows (its triggers wrote the others).`,
    );
    console.log('Real shape: reset between tests (pgwork, TRUNCATE and BEGIN/ROLLBACK interleaved)');
    wide('dirty', 'pgwork', 'TRUNCATE all', 'BEGIN/ROLLBACK', 'TRUNCATE / pgwork');
    const label = {
      none: '0 tables',
      related: `3 related (${r.related.holdingRows.length} with rows)`,
      all: `all ${r.schema.tables}`,
    };
    for (const row of Object.values(r.reset))
      wide(label[row.dirty], ms(row.pgwork), ms(row.truncate), ms(row.rollback), `${row.truncateOverPgwork}x`);
    const f = r.firstReset;
    console.log(
      `Real shape: a later test file's first reset (3 related dirty, kept session) ${ms(f.nextFile)}; a worker's first file: open ${ms(f.open)}, its first reset ${ms(f.firstFile)}; steady ${ms(f.steady)}`,
    );
    console.log('Real shape: workers resetting at once (3 related dirty each, separate clones of one template)');
    wide('workers', 'reset, per worker', 'whole batch');
    for (const key of ['w1', 'w2', 'w4'])
      wide(r.workers[key].workers, ms(r.workers[key].perWorker), ms(r.workers[key].batch));
    console.log('Real shape: targets');
    for (const t of r.targets) console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.target}: ${t.measured}`);
    console.log('');
  }
  if (results.scaling.w1) {
    console.log('Scaling: workers cloning at once (100-table template)');
    line('workers', 'per worker', 'whole batch');
    for (const key of ['w1', 'w2', 'w4', 'w8'])
      line(results.scaling[key].workers, ms(results.scaling[key].perWorker), ms(results.scaling[key].batch));
    console.log('');
  }
  if (Object.keys(results.suite).length) {
    const sec = (s) => `${(s.median / 1000).toFixed(2)} s`;
    console.log(`Whole suite (4 workers unless serial; medians of ${m.suiteRuns} interleaved repetitions)`);
    line('example', 'pgwork', 'unisolated (wrong)', 'serial, shared', 'overhead / speedup');
    for (const [label, s] of Object.entries(results.suite)) {
      line(
        label,
        `${sec(s.pgwork)}, ${s.pgwork.failedTests.join('/')} failed`,
        `${sec(s.unisolated)}, ${s.unisolated.failedTests.join('/')} failed`,
        `${sec(s.serial)}, ${s.serial.failedTests.join('/')} failed`,
        `${s.overheadPct.median}% (${s.overheadPct.min} to ${s.overheadPct.max}) / ${s.speedupOverSerial}x`,
      );
    }
    console.log('');
    console.log("pgwork's steps in those runs' workers (PGWORK_TIMINGS; every file and test of every repetition)");
    line('example', 'before a file (connect)', 'reset before each test', 'suite time vs Jest');
    for (const [label, s] of Object.entries(results.suite))
      line(label, ms(s.fileSetup), ms(s.resetBeforeTest), s.overJest ? `${s.overJest}x` : '-');
    console.log('');
  }
  if (Object.keys(results.playwright).length) {
    const sec = (s) => `${(s.median / 1000).toFixed(2)} s (${(s.min / 1000).toFixed(2)}-${(s.max / 1000).toFixed(2)})`;
    const wide = (...cells) =>
      console.log(
        cells
          .map((cell, i) => String(cell).padEnd(i === 0 ? 18 : 38))
          .join('')
          .trimEnd(),
      );
    console.log(
      `Playwright suite (browser + API tests, an app server per worker; medians (min-max) of ${m.suiteRuns} interleaved repetitions)`,
    );
    wide(
      'example',
      'pgwork, 1 worker',
      'pgwork, 4 workers',
      'unisolated, 4 workers (wrong)',
      'overhead / 4-vs-1 speedup',
    );
    for (const [label, s] of Object.entries(results.playwright)) {
      wide(
        label,
        `${sec(s.pgwork1)}, ${s.pgwork1.failedTests.join('/')} failed`,
        `${sec(s.pgwork4)}, ${s.pgwork4.failedTests.join('/')} failed`,
        `${sec(s.unisolated4)}, ${s.unisolated4.failedTests.join('/')} failed`,
        `${s.overheadPct.median}% (${s.overheadPct.min} to ${s.overheadPct.max}) / ${s.speedup4Over1}x`,
      );
      for (const note of s.isolatedFailures) console.log(`  isolated run failed: ${note}`);
    }
    console.log('');
  }
}
