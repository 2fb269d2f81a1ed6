import { createServer } from 'node:net';
import { PgworkError } from '../src/shared/errors';
import { connect, connectionError } from '../src/shared/connection';
import { databaseUrl } from '../src/shared/naming';
import { serverUrl } from './helpers';

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function failure(url: string): Promise<PgworkError> {
  const error = await connect(url, { source: 'PGWORK_DATABASE_URL' }).then(
    async (client) => {
      await client.end();
      throw new Error('expected the connection to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PgworkError);
  expect((error as Error).message).not.toContain('\n');
  return error as PgworkError;
}

describe('connection errors name the fix', () => {
  it('server unreachable: masked URL and the embedded default', async () => {
    const error = await failure(`postgres://me:topsecret@127.0.0.1:${await closedPort()}/postgres`);
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.message).toContain('me:***@127.0.0.1');
    expect(error.message).not.toContain('topsecret');
    expect(error.message).toMatch(/or set PGWORK_DATABASE_URL=embedded to use pgwork's embedded Postgres instead\.$/);
  });

  it('authentication failed: names the user and the variable to fix', async () => {
    const url = new URL(databaseUrl(serverUrl(), 'postgres'));
    url.password = 'wrong-password';
    const error = await failure(url.toString());
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.message).toMatch(/rejected user "postgres".*fix the user or password in PGWORK_DATABASE_URL/);
    expect(error.message).not.toContain('wrong-password');
  });

  it('missing database: names it', async () => {
    const error = await failure(databaseUrl(serverUrl(), 'no_such_database_here'));
    expect(error.message).toMatch(/database "no_such_database_here" does not exist/);
  });
});

describe('what a failed connection is called', () => {
  const url = 'postgres://postgres:secret@127.0.0.1:41234/app_w2';

  it("a timeout is a timeout: the server may be up and this process too busy to read its answer, so never 'cannot reach'", () => {
    const error = connectionError(new Error('timeout expired'), url, 'the embedded server');
    expect(error.code).toBe('CONNECT_TIMEOUT');
    expect(error.message).toBe(
      'pgwork: Postgres at postgres://postgres:***@127.0.0.1:41234/app_w2 did not finish a connection within 15 s (timeout expired): the server or this process was too busy to answer (a loaded machine, or test code blocking the event loop); check that it answers (pgwork doctor), or run fewer workers.',
    );
  });

  it('an embedded server that stopped answering is not fixed by unsetting the URL', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:41234'), { code: 'ECONNREFUSED' });
    for (const source of ['the embedded server', 'the embedded server of worker 2']) {
      const error = connectionError(refused, url, source);
      expect(error.code).toBe('SERVER_UNREACHABLE');
      expect(error.message).toMatch(/the embedded server stopped while this run used it .*; run the tests again\.$/);
      expect(error.message).not.toMatch(/unset PGWORK_DATABASE_URL/);
    }
  });
});
