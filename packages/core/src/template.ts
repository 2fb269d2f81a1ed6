import { escapeIdentifier, type Client } from 'pg';
import type { Adapter } from './adapter';
import { withClient } from './connection';
import {
  describeDatabase,
  dropOwnedDatabase,
  ensureDatabase,
  notOwnedError,
  terminateSessions,
  writeMarker,
  type DatabaseMarker,
} from './databases';
import { PgworkError, describeDatabaseError } from './errors';
import { hashParts } from './fingerprint';
import { withLock } from './locks';
import { databaseUrl } from './naming';
import type { Seed } from './seed';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const CORE_VERSION: string = require('../package.json').version;

/** Bumped when core changes what a template contains, so old templates are not trusted. */
const TEMPLATE_FORMAT = 'pgwork-template-v1';

/** The template's fingerprint: the adapter's, plus everything of pgwork's own that shapes a template. */
export async function templateFingerprint(adapter: Adapter, seed?: Seed): Promise<string> {
  let adapterFingerprint: string;
  try {
    adapterFingerprint = await adapter.fingerprint();
  } catch (error) {
    if (error instanceof PgworkError) throw error;
    throw new PgworkError(
      'ADAPTER_FAILED',
      `adapter ${adapter.name} could not compute its fingerprint: ${describeDatabaseError(error)}`,
      { cause: error },
    );
  }
  if (typeof adapterFingerprint !== 'string' || adapterFingerprint === '') {
    throw new PgworkError(
      'ADAPTER_FAILED',
      `adapter ${adapter.name} returned an empty fingerprint; it must return a non-empty string.`,
    );
  }
  return hashParts([TEMPLATE_FORMAT, CORE_VERSION, adapter.name, adapterFingerprint, seed?.fingerprint ?? 'no seed']);
}

export interface EnsureTemplateOptions {
  admin: Client;
  serverUrl: string;
  /** Named in connection errors. */
  source: string;
  name: string;
  fingerprint: string;
  runId: string;
  adapter: Adapter;
  /** Written into the template after migrate. */
  seed?: Seed;
  rebuild: boolean;
}

export interface TemplateResult {
  name: string;
  built: boolean;
  /** Milliseconds spent migrating (0 when reused). */
  migrateMs: number;
}

/**
 * Reuses a finished template, or builds it: create, migrate, seal. Runs under
 * a per-template advisory lock, so concurrent runs build it once and the
 * others wait and reuse it. A template is trusted only once its marker says
 * "ready"; a failed or interrupted build is dropped and never cloned.
 */
export async function ensureTemplate(options: EnsureTemplateOptions): Promise<TemplateResult> {
  const { admin, name, adapter } = options;
  return withLock(admin, `template:${name}`, async () => {
    const existing = await describeDatabase(admin, name);
    if (existing && !existing.marker) throw notOwnedError(name);
    if (existing?.marker?.state === 'ready' && existing.isTemplate && !options.rebuild) {
      return { name, built: false, migrateMs: 0 };
    }
    if (existing) await dropOwnedDatabase(admin, name);

    const marker: DatabaseMarker = {
      kind: 'template',
      run: options.runId,
      fingerprint: options.fingerprint,
      state: 'building',
      created: new Date().toISOString(),
    };
    await ensureDatabase(admin, name, { marker });
    const started = performance.now();
    const url = databaseUrl(options.serverUrl, name);
    try {
      await withClient(url, { source: options.source }, (client) => adapter.migrate({ url, database: name, client }));
    } catch (error) {
      await dropOwnedDatabase(admin, name).catch(() => undefined);
      const detail =
        error instanceof PgworkError ? error.message.replace(/^pgwork: /, '') : describeDatabaseError(error);
      throw new PgworkError(
        'MIGRATION_FAILED',
        `adapter ${adapter.name} could not migrate the template ${name}: ${detail}`,
        { cause: error },
      );
    }
    if (options.seed) {
      try {
        await options.seed.run({ url, database: name }, options.source);
      } catch (error) {
        await dropOwnedDatabase(admin, name).catch(() => undefined);
        throw error;
      }
    }
    const migrateMs = performance.now() - started;
    // Seal first, then close stragglers: no session can come back, and clones never
    // fail with "source database is being accessed by other users".
    await admin.query(`ALTER DATABASE ${escapeIdentifier(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    await terminateSessions(admin, name);
    await writeMarker(admin, name, { ...marker, state: 'ready' });
    return { name, built: true, migrateMs };
  });
}
