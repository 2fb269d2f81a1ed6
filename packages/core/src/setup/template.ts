import { escapeIdentifier, type Client } from 'pg';
import {
  describeDatabase,
  dropOwnedDatabase,
  listOwnedDatabases,
  ensureDatabase,
  notOwnedError,
  terminateSessions,
  writeMarker,
} from '../admin/databases';
import type { DatabaseMarker } from '../admin/marker';
import type { RunStart } from '../isolation/contract';
import type { MigrationTarget } from '../shared/adapter';
import { appUrlOf } from '../shared/run-state';
import { withClient } from '../shared/connection';
import { hashParts } from '../shared/fingerprint';
import { isLockHeld, lockShared, tryLock, unlock, withLock } from '../shared/locks';
import { databaseUrl, templateBaseName } from '../shared/naming';
import type { TemplateRetention } from './options';
import type { Seed } from './seed';

export const CORE_VERSION: string = require('../../package.json').version;

/** Bumped when core changes what a template contains, so old templates are not trusted. */
const TEMPLATE_FORMAT = 'pgwork-template-v1';

/** The template's fingerprint: the adapter's, plus everything of pgwork's own that shapes a template. */
export function templateFingerprint(adapterName: string, adapterFingerprint: string, seed?: Seed): string {
  return hashParts([TEMPLATE_FORMAT, CORE_VERSION, adapterName, adapterFingerprint, seed?.fingerprint ?? 'no seed']);
}

export interface EnsureTemplateOptions {
  /** The run, whose admin connection creates, seals and marks the template. */
  start: RunStart;
  name: string;
  fingerprint: string;
  /** The adapter's name, recorded in the marker for `pgwork ls`. */
  adapter: string;
  rebuild: boolean;
  /** Migrate and seed the new, empty template. */
  build(target: MigrationTarget): Promise<void>;
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
  const { start, name } = options;
  const { admin } = start;
  return withLock(admin, `template:${name}`, async () => {
    const existing = await describeDatabase(admin, name);
    if (existing && !existing.marker) throw notOwnedError(name);
    if (existing?.marker?.state === 'ready' && existing.isTemplate && !options.rebuild) {
      await useTemplate(admin, name, existing.marker);
      return { name, built: false, migrateMs: 0 };
    }
    if (existing) await dropOwnedDatabase(admin, name);

    const marker: DatabaseMarker = {
      kind: 'template',
      run: start.runId,
      fingerprint: options.fingerprint,
      adapter: options.adapter,
      state: 'building',
      created: new Date().toISOString(),
    };
    await ensureDatabase(admin, name, { marker });
    const started = performance.now();
    const url = databaseUrl(start.server.url, name);
    try {
      await withClient(url, { source: start.server.source }, (client) =>
        options.build({ url, database: name, client, appUrl: appUrlOf(start.server, url) }),
      );
    } catch (error) {
      await dropOwnedDatabase(admin, name).catch(() => undefined);
      throw error;
    }
    const migrateMs = performance.now() - started;
    // Seal first, then close stragglers: no session can come back, and clones never
    // fail with "source database is being accessed by other users".
    await admin.query(`ALTER DATABASE ${escapeIdentifier(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    await terminateSessions(admin, name);
    await useTemplate(admin, name, { ...marker, state: 'ready' });
    return { name, built: true, migrateMs };
  });
}

/** Held (shared) by every run that clones from a template, for as long as the run lives: GC skips it. */
const templateUse = (name: string) => `template-use:${name}`;

async function useTemplate(admin: Client, name: string, marker: DatabaseMarker): Promise<void> {
  await lockShared(admin, templateUse(name));
  await writeMarker(admin, name, { ...marker, lastUsed: new Date().toISOString() });
}

/**
 * Drops the base name's templates of other fingerprints that fall outside the
 * retention, and another base name's once unused for `unusedDays` (a removed
 * or moved project's would stay forever): never one a live run uses (cloning
 * or about to), never one being built, never a database without pgwork's
 * marker. Returns what it dropped.
 */
export async function collectTemplates(
  admin: Client,
  baseName: string,
  current: string,
  retention: TemplateRetention,
): Promise<string[]> {
  const ready = await readyTemplates(admin);
  const own = ready.filter(({ name }) => templateBaseName(name) === baseName && name !== current);
  const others = ready.filter(({ name }) => templateBaseName(name) !== baseName);
  const dropped: string[] = [];
  const unused = (marker: DatabaseMarker) => Date.now() - lastUse(marker) >= retention.unusedDays * 86_400_000;
  for (const [index, { name, marker }] of own.entries()) {
    const kept = index + 1 < retention.newest; // the run's own template is the newest
    if (kept && !unused(marker)) continue;
    if (await dropIdleTemplate(admin, name, marker)) dropped.push(name);
  }
  for (const { name, marker } of others) {
    if (unused(marker) && (await dropIdleTemplate(admin, name, marker))) dropped.push(name);
  }
  return dropped;
}

/** The base name's finished templates (without one, every base name's), most recently used first. */
export async function readyTemplates(admin: Client, baseName?: string) {
  return (await listOwnedDatabases(admin))
    .filter(
      ({ name, marker }) =>
        marker.kind === 'template' &&
        marker.state === 'ready' &&
        (baseName === undefined || templateBaseName(name) === baseName),
    )
    .sort((a, b) => lastUse(b.marker) - lastUse(a.marker));
}

/** When a template was last cloned from (or built). */
export const lastUse = (marker: DatabaseMarker) => Date.parse(marker.lastUsed ?? marker.created) || 0;

/** Whether a live run holds the template (it clones from it, or is about to). */
export const isTemplateInUse = (admin: Client, name: string) => isLockHeld(admin, templateUse(name));

/**
 * Drops a ready template no live run uses and nobody used since `seen` was
 * read, under its lock as ensureTemplate takes it, so no run starts using it
 * meanwhile. Whether it dropped.
 */
export async function dropIdleTemplate(admin: Client, name: string, seen: DatabaseMarker): Promise<boolean> {
  if (!(await tryLock(admin, `template:${name}`))) return false;
  try {
    if (await isTemplateInUse(admin, name)) return false;
    const stillIdle = (now: DatabaseMarker) => now.kind === 'template' && now.lastUsed === seen.lastUsed;
    return await dropOwnedDatabase(admin, name, stillIdle);
  } finally {
    await unlock(admin, `template:${name}`).catch(() => undefined);
  }
}
