import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { escapeIdentifier } from 'pg';
import { databaseUrl } from '../src/shared/naming';
import { vitestWorkerCount } from '../src/vitest/run';
import { dropOwnedWithBase, runFixture, serverUrl, uniqueBase, withAdmin } from './helpers';

// globalSetup prepares a database (or schema) for each worker the runner will run:
// the command line's worker count, not the config's, and one when the runner runs in band.
const JEST_CONFIG = join(__dirname, 'fixtures/worker-count/jest.config.js');
const VITEST_CONFIG = join(__dirname, 'fixtures/worker-count/vitest.config.mjs');

async function run(config: string, args: string[], env: Record<string, string> = {}) {
  const baseName = uniqueBase('wcount');
  try {
    return runFixture(
      { PGWORK_DATABASE_URL: serverUrl(), FIXTURE_BASE_NAME: baseName, NO_COLOR: '1', ...env },
      config,
      args,
    );
  } finally {
    await dropOwnedWithBase(baseName);
  }
}

const closingLine = (output: string) => /pgwork: run \S+ .*used (\d+) (database|schema)\(s\)/.exec(output);

describe('Jest (a config maxWorkers of 4, four files)', () => {
  it('prepares 2 databases under --maxWorkers=2', async () => {
    const outcome = await run(JEST_CONFIG, ['--maxWorkers=2']);
    expect(outcome.output).toMatch(/Tests:\s+8 passed, 8 total/);
    expect(closingLine(outcome.output)?.[1]).toBe('2');
    expect(new Set(outcome.databases).size).toBe(2);
  });

  it.each([['--runInBand'], ['--detectOpenHandles']])(
    'prepares 1 database under %s (Jest runs in band)',
    async (flag) => {
      const outcome = await run(JEST_CONFIG, [flag]);
      expect(outcome.output).toMatch(/Tests:\s+8 passed, 8 total/);
      expect(closingLine(outcome.output)?.[1]).toBe('1');
    },
  );
});

describe('Vitest (a config maxWorkers of 4, four files)', () => {
  it('prepares 2 databases under --maxWorkers=2', async () => {
    const outcome = await run(VITEST_CONFIG, ['--maxWorkers=2']);
    expect(outcome.output).toMatch(/Tests\s+4 passed \(4\)/);
    expect(closingLine(outcome.output)?.[1]).toBe('2');
    expect(new Set(outcome.databases).size).toBe(2);
  });

  it("prepares 2 schemas for an inline project without its own maxWorkers: the root's, from --maxWorkers=2", async () => {
    // Schema isolation makes every worker's schema up front: a worker globalSetup did not count fails.
    const dev = uniqueBase('wcdev');
    await withAdmin((admin) => admin.query(`CREATE DATABASE ${escapeIdentifier(dev)}`));
    try {
      const outcome = await run(VITEST_CONFIG, ['--maxWorkers=2'], {
        PGWORK_DATABASE_URL: databaseUrl(serverUrl(), dev),
        PGWORK_ISOLATION: 'schema',
        FIXTURE_SHAPE: 'inline-project',
      });
      expect(outcome.output).toMatch(/Tests\s+4 passed \(4\)/);
      expect(outcome.output).toMatch(/schema per worker: 2 in database/);
      expect(closingLine(outcome.output)?.[1]).toBe('2');
    } finally {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(dev)} WITH (FORCE)`));
    }
  });
});

describe('vitestWorkerCount', () => {
  const cores = availableParallelism();
  it.each([
    ["the project's own maxWorkers", { maxWorkers: 3 }, { maxWorkers: 2 }, 3],
    ["the root config's (where --maxWorkers lands)", {}, { maxWorkers: 2 }, 2],
    ["Vitest's default: all cores but one", {}, {}, Math.max(1, cores - 1)],
    ["Vitest's default in watch mode: half the cores", {}, { watch: true }, Math.max(1, Math.floor(cores / 2))],
  ])('takes %s', (_name, own, root, expected) => {
    expect(vitestWorkerCount({ config: { root: '/', ...own }, vitest: { config: root } })).toBe(expected);
  });
});
