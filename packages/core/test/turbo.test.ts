import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { turboNotice } from '../src/setup/turbo';

describe('turbo', () => {
  let repo: string;
  let app: string;
  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'pgwork-turbo-'));
    app = join(repo, 'apps/api');
    mkdirSync(app, { recursive: true });
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));
  const turboJson = (config: object) => writeFileSync(join(repo, 'turbo.json'), JSON.stringify(config));

  it('says so when a turbo task gets no PGWORK_ variable and turbo.json declares none', () => {
    turboJson({ tasks: { test: { env: ['NODE_ENV'] } } });
    expect(turboNotice(app, { TURBO_HASH: 'abc' })).toBe(
      `pgwork: running as a turbo task, and ${join(repo, 'turbo.json')} passes no PGWORK_* variable through (turbo's strict env mode drops undeclared ones, so PGWORK_DATABASE_URL, PGWORK_DISABLE and the rest would be ignored); add "globalPassThroughEnv": ["PGWORK_*", "DATABASE_URL"] to it.`,
    );
  });

  it('stays quiet outside turbo, when the variables are declared, in loose mode, or when one arrived', () => {
    turboJson({ tasks: { test: {} } });
    expect(turboNotice(app, {})).toBeUndefined();
    expect(turboNotice(app, { TURBO_HASH: 'abc', PGWORK_DISABLE: '1' })).toBeUndefined();
    turboJson({ globalPassThroughEnv: ['PGWORK_*'], tasks: {} });
    expect(turboNotice(app, { TURBO_HASH: 'abc' })).toBeUndefined();
    turboJson({ tasks: { test: { passThroughEnv: ['PGWORK_DATABASE_URL'] } } });
    expect(turboNotice(app, { TURBO_HASH: 'abc' })).toBeUndefined();
    turboJson({ envMode: 'loose', tasks: {} });
    expect(turboNotice(app, { TURBO_HASH: 'abc' })).toBeUndefined();
  });
});
