import type { Client } from 'pg';
import type { MigrationTarget } from '../shared/adapter';
import type { RunState, ServerAddress, WorkerSettings, WorkerTarget } from '../shared/run-state';

/**
 * How workers are kept apart. Each mode is one module implementing this: its
 * setup half (start) runs in globalSetup, its worker half (target, open) in
 * the workers and reads only the run state. Setup services come in through
 * SetupContext, so a mode never imports setup code.
 */
export interface Isolation<State extends RunState = RunState> {
  readonly mode: State['mode'];
  /** What one worker gets, in messages: "database" or "schema". */
  readonly unit: 'database' | 'schema';
  /** globalSetup: make the run, ready for workers. */
  start(context: SetupContext): Promise<StartedRun<State>>;
  /** Worker side, string work only: where worker N's tests go. */
  target(state: State, workerId: number): WorkerTarget;
  /** Worker side: makes sure worker N's target exists and is this run's, and connects to it. */
  open(state: State, workerId: number): Promise<OpenedTarget>;
  /**
   * Worker side, PGWORK_KEEP=failed: a new database beside worker N's, cloned
   * from the run's template and marked kept for `failedTest`, that the worker
   * copies its rows into. Absent where a worker has no database of its own (schema isolation).
   */
  keptCopy?(state: State, workerId: number, failedTest: string): Promise<WorkerTarget>;
}

export interface OpenedTarget {
  /** Where it is: what target(state, workerId) gives. */
  readonly target: WorkerTarget;
  /** The worker's own connection to its target, for resets. */
  readonly client: Client;
  /** Whether the worker made its target now (false: globalSetup or an earlier file did). */
  readonly created: boolean;
}

/** What the setup phase hands a mode. */
export interface SetupContext {
  readonly baseName: string;
  /** The project of a multi-project config, recorded in the run state and on what the run makes. */
  readonly project: string | undefined;
  readonly maintenanceDatabase: string;
  /** The configured server; undefined url: the embedded one. */
  readonly server: {
    readonly url: string | undefined;
    readonly source: string;
    /** The embedded default: the kept cluster's name, and the PostgreSQL major asked for. */
    readonly cluster?: string;
    readonly embeddedMajor?: number;
  };
  /** PGWORK_DISABLE=1: every worker shares one target. */
  readonly disable: boolean;
  /** PGWORK_KEEP=1: nothing is dropped at the end. */
  readonly keep: boolean;
  /** Workers to prepare now (the rest, where a mode allows, on demand). */
  readonly workerIds: readonly number[];
  readonly settings: WorkerSettings;
  /** Starts the embedded server when none is given, connects to `database`, runs the checks, takes the run's lease. */
  begin(
    server: SetupContext['server'],
    database: (serverUrl: string) => string,
    checks: { createsDatabases: boolean },
  ): Promise<RunStart>;
  /** The run's template on that server: reused when ready, else built (create, migrate, seed, seal). */
  template(start: RunStart): Promise<{ name: string; built: boolean; migrateMs: number; dropped: readonly string[] }>;
  /** Migrates and seeds an empty target (the template, or a worker's schema); errors name `what`. */
  build(target: MigrationTarget, what: string): Promise<void>;
}

/** A begun run: its server, a connection holding its lease, its id. */
export interface RunStart {
  readonly runId: string;
  readonly server: ServerAddress;
  readonly admin: Client;
  /** The embedded server's directory, when pgwork started one. */
  readonly embeddedDirectory: string | undefined;
  readonly serverVersion: string;
  readonly serverVersionNumber: number;
  /** Releases the lease, closes the connection, stops the embedded server: the last step of finish or of a failed start. */
  end(): Promise<void>;
}

export interface RunSummary {
  readonly runId: string;
  /** One clause saying what was prepared, for globalSetup's line: "template x reused". */
  readonly prepared: string;
  readonly template: string;
  readonly templateBuilt: boolean;
  readonly migrateMs: number;
  readonly embedded: boolean;
  readonly embeddedDirectory?: string;
  /** host:port (no user or password) of the server. */
  readonly serverAddress: string;
  readonly serverVersion: string;
  readonly reclaimed: readonly string[];
  /** Old templates of the base name dropped by template GC. */
  readonly templatesDropped?: readonly string[];
}

export interface RunResult {
  /** The run's worker (or shared) databases or schemas. */
  readonly databases: readonly string[];
  /** false when kept (PGWORK_KEEP=1). */
  readonly dropped: boolean;
}

export interface StartedRun<State extends RunState = RunState> {
  readonly state: State;
  /** One per server. */
  readonly summaries: readonly RunSummary[];
  /** Drops what the run made (unless keep), releases its lease, stops embedded servers. */
  finish(): Promise<RunResult>;
}
