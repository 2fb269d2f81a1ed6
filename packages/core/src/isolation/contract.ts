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
  /**
   * Whether a run creates databases (the role needs CREATEDB), or only schemas
   * in the database the URL names (CREATE there): checked before a run
   * begins, and by `pgwork doctor`.
   */
  readonly createsDatabases: boolean;
  /**
   * Whether workers' databases are cloned from the run's template
   * (`pgwork doctor` reports its state); else each worker's target is migrated
   * when the run starts.
   */
  readonly clonesTemplate: boolean;
  /**
   * The server worker N's run is on, given the configured one: that one for
   * every worker, or one of the worker's own (a kept embedded cluster named
   * by workerClusterName, or the URL's port + N). String work only: setup
   * and the CLI (`doctor`, `ls`, `clean`, `url`) find a project's servers by it.
   */
  serverFor(server: RunServer, workerId: number): RunServer;
  /** globalSetup: make the run, ready for workers. */
  start(context: SetupContext): Promise<StartedRun<State>>;
  /**
   * Worker side, string work only: where worker N's tests go (and, in modes
   * that clone one, the template its database came from).
   */
  target(state: State, workerId: number): WorkerTarget;
  /**
   * Worker side, string work only: where a test process whose runner gives it
   * no worker number leases one (worker/lease.ts: an advisory lock per number,
   * held on a connection there): a database of the run's shared server that
   * exists for the run's whole life.
   */
  leaseTarget(state: State): { readonly url: string; readonly source: string };
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

/** A server as configured: a URL, or (undefined) the embedded default. */
export interface RunServer {
  readonly url: string | undefined;
  /** Where the choice came from, named in errors. */
  readonly source: string;
  /** The embedded default: the kept cluster's name (undefined: "main"), and the PostgreSQL major asked for. */
  readonly cluster?: string;
  readonly embeddedMajor?: number;
}

/** What the setup phase hands a mode. */
export interface SetupContext {
  readonly baseName: string;
  /** The project of a multi-project config, recorded in the run state and on what the run makes. */
  readonly project: string | undefined;
  readonly maintenanceDatabase: string;
  /** The configured server; undefined url: the embedded one. */
  readonly server: RunServer;
  /** PGWORK_DISABLE=1: every worker shares one target. */
  readonly disable: boolean;
  /** PGWORK_KEEP=1: nothing is dropped at the end. */
  readonly keep: boolean;
  /** The run's workers: a mode prepares them now, or some of them (database isolation, past the first 16) on demand. */
  readonly workerIds: readonly number[];
  readonly settings: WorkerSettings;
  /**
   * Starts the embedded server when none is given, connects to `database`,
   * runs the checks (the role may create what the mode creates, the server has
   * connections enough), takes the run's lease.
   */
  begin(server: RunServer, database: (serverUrl: string) => string): Promise<RunStart>;
  /** The run's template on that server: reused when ready, else built (create, migrate, seed, seal). */
  template(start: RunStart): Promise<TemplateSummary & { readonly migrateMs: number }>;
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

/**
 * What a run's start did on one server, for the run's line and PGWORK_REPORT:
 * what every mode has, and (optional) what a mode has of its own.
 */
export interface RunSummary {
  readonly runId: string;
  /** One clause saying what was prepared, for the run's line: "template x reused". */
  readonly prepared: string;
  /** Time spent migrating and seeding at this start (the template's build, every worker schema's); 0 when nothing was built. */
  readonly migrateMs: number;
  readonly embedded: boolean;
  readonly embeddedDirectory?: string;
  /** host:port (no user or password) of the server. */
  readonly serverAddress: string;
  readonly serverVersion: string;
  /** Dead runs' databases or schemas this start dropped. */
  readonly reclaimed: readonly string[];
  /** PGWORK_DISABLE=1: the one database or schema every worker on this server uses. */
  readonly shared?: string;
  /** Modes that clone workers from a template: which one. */
  readonly template?: TemplateSummary;
}

/** The template a run clones workers from on one server. */
export interface TemplateSummary {
  readonly name: string;
  /** This start built it (false: a ready one was reused). */
  readonly built: boolean;
  /** Old templates of the base name dropped by template GC. */
  readonly dropped: readonly string[];
}

export interface RunResult {
  /** The run's worker (or shared) databases or schemas. */
  readonly databases: readonly string[];
  /** false when kept (PGWORK_KEEP=1). */
  readonly dropped: boolean;
  /** What Postgres still refused to drop after retrying (another role's session on it), and why: the next run reclaims it. */
  readonly left: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

/**
 * Where one server's part of a run lives, as plain data: what a process other
 * than the run's needs to drop it (setup/run-finisher.ts, when the runner's
 * process exits without its teardown).
 */
export interface RunObjectsPlace {
  readonly runId: string;
  /** The URL of the database the run's admin connection uses (which holds the schemas, in schema isolation). */
  readonly url: string;
  readonly source: string;
  readonly unit: 'database' | 'schema';
  /** PGWORK_KEEP=1: marked kept instead of dropped, as the run's own end would. */
  readonly keep: boolean;
}

export interface StartedRun<State extends RunState = RunState> {
  readonly state: State;
  /** One per server. */
  readonly summaries: readonly RunSummary[];
  /** One per server: where the run's databases or schemas are. */
  readonly places: readonly RunObjectsPlace[];
  /** Drops what the run made (unless keep), releases its lease, stops embedded servers. */
  finish(): Promise<RunResult>;
}
