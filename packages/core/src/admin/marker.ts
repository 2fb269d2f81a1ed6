/**
 * What pgwork writes into COMMENT ON DATABASE (or SCHEMA) for everything it creates.
 * Only a database carrying this marker is ever dropped, reset or reused:
 * a name that merely looks like pgwork's is never enough.
 */
export interface DatabaseMarker {
  kind: 'template' | 'worker' | 'shared';
  /** The run that created it (templates: the run that built it). */
  run: string;
  /** Workers and shared databases: the template they were cloned from. */
  template?: string;
  /** Templates: the fingerprint they were built from, and whether the build finished. */
  fingerprint?: string;
  state?: 'building' | 'ready';
  /** Templates: the adapter that built it (`pgwork ls` shows it; older templates lack it). */
  adapter?: string;
  created: string;
  /** Templates: when a run last cloned from it (or reused it); template GC keeps the recently used. */
  lastUsed?: string;
  /** Workers, schemas and shared databases: the project of a multi-project config whose run made them. */
  project?: string;
  /**
   * Workers, schemas and shared databases: when their run finished keeping them
   * (PGWORK_KEEP=1). Without it, a dead run's objects were never finished: killed or interrupted.
   */
  kept?: string;
  /** PGWORK_KEEP=failed: the test whose database this is a copy of, as it was when the test failed. */
  failedTest?: string;
}

export const MARKER_PREFIX = 'pgwork:v1 ';

export function formatMarker(marker: DatabaseMarker): string {
  return MARKER_PREFIX + JSON.stringify(marker);
}

export function parseMarker(comment: string | null | undefined): DatabaseMarker | undefined {
  if (!comment?.startsWith(MARKER_PREFIX)) return undefined;
  try {
    const value = JSON.parse(comment.slice(MARKER_PREFIX.length)) as DatabaseMarker;
    const kinds = ['template', 'worker', 'shared'];
    return value && kinds.includes(value.kind) && typeof value.run === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
