import { dirname } from 'node:path';
import type * as pg from 'pg';
import { APP_MODULE, closeSuiteApps, loadSuiteApp, suiteAppPath, underJest, type UrlShortenerApp } from './app';

/**
 * The app's own `pg`, which may be another copy than the suite's (an ORM that
 * pins one): reset "transaction" routes the app's, and the probe must be routed
 * with it to see the test's uncommitted rows.
 */
function appPg(): typeof pg {
  // Under Jest the app is behind APP_MODULE, which its resolver maps to the example's file.
  const app = underJest() ? require.resolve(APP_MODULE) : suiteAppPath();
  return require(require.resolve('pg', { paths: [dirname(app)] }));
}

/**
 * Independent raw SQL on the database the app uses, so assertions check what is
 * really stored, not what the app or its ORM reads back. A pool of one: its own
 * connection normally; with reset "transaction", the test's transaction, the
 * only place the test's uncommitted rows can be seen.
 */
export class Probe {
  private constructor(private readonly client: pg.Pool) {}

  static async open(url = process.env.DATABASE_URL): Promise<Probe> {
    if (!url) throw new Error('DATABASE_URL is not set');
    const { Pool } = appPg();
    return new Probe(new Pool({ connectionString: url, application_name: 'pgwork-suite-probe', max: 1 }));
  }

  async count(table: 'urls' | 'clicks', where = 'true'): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`);
    return Number(rows[0]!.n);
  }

  async slugs(): Promise<string[]> {
    const { rows } = await this.client.query<{ slug: string }>('SELECT slug FROM urls ORDER BY id');
    return rows.map((row) => row.slug);
  }

  async ids(): Promise<number[]> {
    const { rows } = await this.client.query<{ id: number }>('SELECT id FROM urls ORDER BY id');
    return rows.map((row) => Number(row.id));
  }

  /** Rows other connections can see: committed ones only. */
  static async committedCount(table: 'urls' | 'clicks', url = process.env.DATABASE_URL): Promise<number> {
    const client = new (appPg().Client)({ connectionString: url, application_name: 'pgwork-suite-probe' });
    // Reset "transaction" routes every pg.Client into the test's transaction, but for those marked as
    // pgwork's own: this one must see only what was committed. Without pgwork the mark does nothing.
    Object.defineProperty(client, Symbol.for('pgwork.connection'), { value: true });
    await client.connect();
    try {
      return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    } finally {
      await client.end();
    }
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** Per-file wiring: the app and a probe; the probe closed after the file, the app where the file owns it. */
export function useSuite() {
  const context = { app: undefined as unknown as UrlShortenerApp, probe: undefined as unknown as Probe };
  beforeAll(async () => {
    // Loaded here, after the runner's setup files pointed DATABASE_URL at this worker's database.
    context.app = await loadSuiteApp();
    context.probe = await Probe.open();
  });
  afterAll(async () => {
    await context.probe?.close();
    // Jest gives every file its own app module, node:test its own process; Vitest (isolate: false),
    // Mocha and Bun may share one between a process's files (closeSuiteApps, or the process's end).
    if (underJest() || process.env.NODE_TEST_CONTEXT) await closeSuiteApps();
  });
  return context;
}

export const slugs = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);

/** Lets other workers' statements interleave with this test's, as real test work would. */
export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
