// The hand-written TypeORM setup, measured fairly: inside one process that has
// already loaded the entities (as a Jest worker would), each "worker" runs
// CREATE DATABASE, then initialize + synchronize + destroy on it. Also times
// TypeORM's own per-test reset, synchronize(true) (dropSchema + synchronize),
// on an initialized DataSource. Run with the project's TypeScript loader
// through core's child-process helper; answers the samples.
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const dist = (path) => require(join(process.env.PGWORK_CORE_DIST, path));
const { childMain } = dist('shared/child.js');
const core = { ...dist('shared/connection.js'), ...dist('shared/naming.js') };

childMain(async ({ module: modulePath, serverUrl, runs: runsText, prefix }) => {
  const loaded = require(modulePath);
  const dataSource = [loaded.default, loaded.dataSource, loaded.AppDataSource, ...Object.values(loaded)].find(
    (v) => v && typeof v.initialize === 'function',
  );
  const admin = await core.connect(core.databaseUrl(serverUrl, 'postgres'));
  const samples = [];
  const rebuild = [];
  for (let i = 0; i < Number(runsText); i++) {
    const name = `${prefix}_${i}`;
    const started = performance.now();
    await admin.query(`CREATE DATABASE ${name}`);
    const worker = new dataSource.constructor({
      ...dataSource.options,
      url: core.databaseUrl(serverUrl, name),
      synchronize: false,
      logging: false,
    });
    await worker.initialize();
    await worker.synchronize();
    samples.push(performance.now() - started);
    const rebuildStarted = performance.now();
    await worker.synchronize(true);
    rebuild.push(performance.now() - rebuildStarted);
    await worker.destroy();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
  }
  await admin.end();
  return { samples, rebuild };
});
