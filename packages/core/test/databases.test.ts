import { escapeIdentifier } from 'pg';
import { PgworkError } from '../src/shared/errors';
import { connect } from '../src/shared/connection';
import { describeDatabase, dropOwnedDatabase, ensureDatabase, listOwnedDatabases } from '../src/admin/databases';
import type { DatabaseMarker } from '../src/admin/marker';
import { databaseUrl } from '../src/shared/naming';
import { adminClient, databaseExists, liveRun, rows, serverUrl, uniqueBase, withAdmin } from './helpers';

let lease: Awaited<ReturnType<typeof liveRun>>;
beforeAll(async () => {
  lease = await liveRun();
});
afterAll(() => lease.release());

const marker = (extra: Partial<DatabaseMarker> = {}): DatabaseMarker => ({
  kind: 'worker',
  run: lease.runId,
  created: new Date().toISOString(),
  ...extra,
});

describe('create, clone, drop', () => {
  it('makes exactly one database when 8 callers ensure the same name at once', async () => {
    const name = uniqueBase('race');
    const clients = await Promise.all(Array.from({ length: 8 }, () => adminClient()));
    try {
      const outcomes = await Promise.all(clients.map((client) => ensureDatabase(client, name, { marker: marker() })));
      expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'existed')).toHaveLength(7);
      const found = await withAdmin((client) =>
        client.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [name]),
      );
      expect(found.rows[0].n).toBe(1);
      expect((await withAdmin((client) => describeDatabase(client, name)))?.marker).toMatchObject({
        kind: 'worker',
        run: lease.runId,
      });
    } finally {
      await withAdmin((client) => dropOwnedDatabase(client, name));
      await Promise.all(clients.map((client) => client.end()));
    }
  });

  it('clones a sealed template for several workers at once, data included', async () => {
    const template = uniqueBase('tpl');
    const workers = [1, 2, 3, 4].map((n) => `${template}_w${n}`);
    await withAdmin(async (admin) => {
      await ensureDatabase(admin, template, { marker: marker({ kind: 'template', state: 'ready' }) });
      await rows(
        databaseUrl(serverUrl(), template),
        'CREATE TABLE items (id int generated always as identity primary key, label text)',
      );
      await rows(databaseUrl(serverUrl(), template), 'INSERT INTO items (label) VALUES ($1)', ['seed']);
      await admin.query(`ALTER DATABASE ${escapeIdentifier(template)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    });
    const clients = await Promise.all(workers.map(() => adminClient()));
    try {
      const outcomes = await Promise.all(
        workers.map((name, i) => ensureDatabase(clients[i]!, name, { template, marker: marker({ template }) })),
      );
      expect(outcomes).toEqual(['created', 'created', 'created', 'created']);
      for (const name of workers) {
        expect(await rows(databaseUrl(serverUrl(), name), 'SELECT label FROM items')).toEqual([{ label: 'seed' }]);
      }
    } finally {
      await Promise.all(clients.map((client) => client.end()));
      await withAdmin(async (admin) => {
        for (const name of [...workers, template]) await dropOwnedDatabase(admin, name);
      });
    }
    for (const name of [...workers, template]) expect(await databaseExists(name)).toBe(false);
  });

  it('never drops, reuses or lists a decoy that only looks like a pgwork database', async () => {
    const decoy = `${uniqueBase('decoy')}_w1`;
    await withAdmin((admin) => admin.query(`CREATE DATABASE ${escapeIdentifier(decoy)}`));
    const decoyUrl = databaseUrl(serverUrl(), decoy);
    await rows(decoyUrl, 'CREATE TABLE precious (v int); INSERT INTO precious VALUES (42)');
    try {
      await withAdmin(async (admin) => {
        expect(await dropOwnedDatabase(admin, decoy)).toBe(false);
        await expect(ensureDatabase(admin, decoy, { marker: marker() })).rejects.toThrow(
          /exists but was not created by pgwork/,
        );
        expect((await listOwnedDatabases(admin)).map((d) => d.name)).not.toContain(decoy);
      });
      expect(await rows(decoyUrl, 'SELECT v FROM precious')).toEqual([{ v: 42 }]);
    } finally {
      await withAdmin((admin) => admin.query(`DROP DATABASE ${escapeIdentifier(decoy)} WITH (FORCE)`));
    }
  });

  it('drops an owned database even while a session is connected to it', async () => {
    const name = uniqueBase('busy');
    await withAdmin((admin) => ensureDatabase(admin, name, { marker: marker() }));
    const lingering = await connect(databaseUrl(serverUrl(), name));
    try {
      expect(await withAdmin((admin) => dropOwnedDatabase(admin, name))).toBe(true);
      expect(await databaseExists(name)).toBe(false);
    } finally {
      await lingering.end().catch(() => undefined);
    }
  });

  it('names CREATEDB as the fix when the role may not create databases', async () => {
    const role = uniqueBase('nocreatedb');
    await withAdmin((admin) => admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' NOCREATEDB`));
    const url = new URL(databaseUrl(serverUrl(), 'postgres'));
    url.username = role;
    url.password = 'pw';
    const client = await connect(url.toString());
    try {
      const error = await ensureDatabase(client, uniqueBase('denied'), { marker: marker() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PgworkError);
      expect((error as PgworkError).code).toBe('NO_CREATEDB');
      expect((error as Error).message).toMatch(/ALTER ROLE <user> CREATEDB/);
    } finally {
      await client.end();
      await withAdmin((admin) => admin.query(`DROP ROLE ${role}`));
    }
  });
});
