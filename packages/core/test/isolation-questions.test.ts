// What code outside isolation/ asks a mode instead of testing its name: each
// mode answers for itself, and the CLI finds a project's servers by the answers.
import type { CliProject } from '../src/cli/project';
import { serversOf } from '../src/cli/servers';
import { isolationOf } from '../src/isolation';
import { ISOLATION_MODES } from '../src/shared/modes';
import { clusterWorker, workerClusterName } from '../src/shared/naming';
import type { DatabaseRunState, SchemaRunState, ServerRunState } from '../src/shared/run-state';

const configured = { url: 'postgres://u@db:6000/app', source: 'DATABASE_URL' };
const embedded = { url: undefined, source: 'the embedded server' };

describe('what a mode answers', () => {
  it('is registered under its own name', () => {
    for (const mode of ISOLATION_MODES) expect(isolationOf(mode).mode).toBe(mode);
  });

  it('says what it creates and whether it clones a template', () => {
    const answers = ISOLATION_MODES.map((mode) => {
      const { unit, createsDatabases, clonesTemplate } = isolationOf(mode);
      return { mode, unit, createsDatabases, clonesTemplate };
    });
    expect(answers).toEqual([
      { mode: 'database', unit: 'database', createsDatabases: true, clonesTemplate: true },
      { mode: 'schema', unit: 'schema', createsDatabases: false, clonesTemplate: false },
      { mode: 'server', unit: 'database', createsDatabases: true, clonesTemplate: true },
    ]);
  });

  it("puts worker N on the configured server, or (server isolation) on one of the worker's own", () => {
    for (const mode of ['database', 'schema'] as const) {
      expect(isolationOf(mode).serverFor(configured, 3)).toBe(configured);
      expect(isolationOf(mode).serverFor(embedded, 3)).toBe(embedded);
    }
    expect(isolationOf('server').serverFor(configured, 3).url).toBe('postgres://u@db:6003/app');
    expect(isolationOf('server').serverFor(embedded, 3).cluster).toBe(workerClusterName(3));
  });

  it("names a worker's kept cluster one way, and reads the worker back from the name", () => {
    expect(workerClusterName(12)).toBe('worker-12');
    expect(clusterWorker(workerClusterName(12))).toBe(12);
    for (const other of ['main', 'worker-', 'worker-1x', 'shard-1']) expect(clusterWorker(other)).toBeUndefined();
  });

  it("names the template a worker's database came from, where the mode clones one", () => {
    const settings = {} as DatabaseRunState['settings'];
    const server = { url: 'postgres://u@db:6000/postgres', source: 'X' };
    const database = (runId: string, template: string): DatabaseRunState => ({
      version: 1,
      mode: 'database',
      runId,
      settings,
      server,
      maintenanceDatabase: 'postgres',
      baseName: 'app',
      template,
      protectedDatabases: [],
    });
    const schema: SchemaRunState = {
      version: 1,
      mode: 'schema',
      runId: 'bbbbbbbb',
      settings,
      server,
      database: 'app',
      baseName: 'app',
      shared: false,
    };
    const perServer: ServerRunState = {
      version: 1,
      mode: 'server',
      runId: 'cccccccc',
      settings,
      perWorker: { '1': database('cccccccc', 'app_tpl_1'), '2': database('dddddddd', 'app_tpl_2') },
    };
    expect(isolationOf('database').target(database('aaaaaaaa', 'app_tpl_0'), 1).template).toBe('app_tpl_0');
    expect(isolationOf('schema').target(schema, 1).template).toBeUndefined();
    expect(isolationOf('server').target(perServer, 2).template).toBe('app_tpl_2');
  });
});

describe("the servers of a project's runs (cli/servers.ts serversOf)", () => {
  const project = (isolation: string, server: CliProject['server'], workers: number) =>
    ({ isolation, server, workers }) as unknown as CliProject;
  const listed = (p: CliProject) => serversOf(p).map(({ server, workers }) => [server.url ?? server.cluster, workers]);

  it("is the configured one for every worker, or each worker's own under server isolation", () => {
    expect(listed(project('database', configured, 3))).toEqual([[configured.url, 3]]);
    expect(listed(project('schema', embedded, 3))).toEqual([[undefined, 3]]);
    expect(listed(project('server', configured, 2))).toEqual([
      ['postgres://u@db:6001/app', 1],
      ['postgres://u@db:6002/app', 1],
    ]);
    expect(listed(project('server', embedded, 2))).toEqual([
      ['worker-1', 1],
      ['worker-2', 1],
    ]);
  });
});
