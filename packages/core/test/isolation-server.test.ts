import { readRunState, type DatabaseRunState } from '../src/shared/run-state';
import { workerTarget } from '../src/worker/env';
import { workerServer } from '../src/isolation/server';

describe('server isolation', () => {
  it('gives worker N the base port + N, with the default port when the URL names none', () => {
    expect(workerServer({ url: 'postgres://u:p@db:6000/app?sslmode=disable', source: 'DATABASE_URL' }, 3)).toEqual({
      url: 'postgres://u:p@db:6003/app?sslmode=disable',
      source: 'DATABASE_URL (port + 3)',
    });
    expect(workerServer({ url: 'postgres://u@db/app', source: 'X' }, 1).url).toBe('postgres://u@db:5433/app');
    expect(workerServer({ url: undefined, source: 'the embedded server' }, 2)).toEqual({
      url: undefined,
      source: 'the embedded server of worker 2',
      cluster: 'worker-2',
    });
    expect(() => workerServer({ url: 'postgres://u@db:65535/app', source: 'X' }, 1)).toThrow(
      /port 65536 is beyond 65535/,
    );
  });

  it('lets each worker find its own run', () => {
    const own = (runId: string, port: number) =>
      ({
        mode: 'database',
        runId,
        baseName: 'app',
        protectedDatabases: [],
        server: { url: `postgres://h:${port}/x`, source: 'X' },
      }) as unknown as DatabaseRunState;
    const state = {
      version: 1,
      mode: 'server',
      runId: 'aaaaaaaa',
      perWorker: { '1': own('aaaaaaaa', 1), '2': own('bbbbbbbb', 2) },
    };
    const published = readRunState({ PGWORK_RUN: JSON.stringify(state) });
    expect(workerTarget(published, 2)).toMatchObject({ runId: 'bbbbbbbb', url: 'postgres://h:2/app_bbbbbbbb_w2' });
    expect(() => workerTarget(published, 3)).toThrow(/worker 3 has no server: globalSetup started 2 for maxWorkers/);
    expect(() => readRunState({ PGWORK_RUN: JSON.stringify({ version: 2 }) })).toThrow(
      /written by another pgwork version/,
    );
  });
});
