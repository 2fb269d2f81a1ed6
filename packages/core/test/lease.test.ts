import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { newRunId } from '../src/shared/naming';
import type { DatabaseRunState } from '../src/shared/run-state';
import { ensureWorkerId, leaseWorkerId, releaseWorkerId } from '../src/worker/lease';
import { serverUrl } from './helpers';

// Worker numbers for test processes whose runner gives none: leased as session
// advisory locks on the run's server, so they die with the process.

const stateOf = (runId: string): DatabaseRunState =>
  ({
    version: 1,
    mode: 'database',
    runId,
    server: { url: serverUrl(), source: 'the test server' },
    maintenanceDatabase: 'postgres',
  }) as unknown as DatabaseRunState;

const LEASE = join(__dirname, '../dist/worker/lease.js');

/** A process that leases a number for the run, prints it, and holds it until killed. */
function leasingProcess(runId: string): { child: ChildProcess; workerId: Promise<number> } {
  const script = `
    const { leaseWorkerId } = require(${JSON.stringify(LEASE)});
    leaseWorkerId(${JSON.stringify(stateOf(runId))}).then((id) => { console.log(id); setInterval(() => {}, 1000); });
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const workerId = new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) resolve(Number(text.trim()));
    });
    child.on('exit', (code) => reject(new Error(`the leasing process exited (${code}) before it printed a number`)));
  });
  return { child, workerId };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode ? resolve() : child.once('exit', () => resolve()),
  );

describe('worker leases', () => {
  afterEach(() => releaseWorkerId());

  it('gives concurrent processes distinct numbers, lowest first, and a SIGKILLed one’s number to the next', async () => {
    const runId = newRunId();
    const first = leasingProcess(runId);
    const one = await first.workerId;
    const second = leasingProcess(runId);
    const third = leasingProcess(runId);
    const others = await Promise.all([second.workerId, third.workerId]);
    try {
      expect(one).toBe(1);
      expect([...others].sort()).toEqual([2, 3]);
      first.child.kill('SIGKILL');
      await exited(first.child);
      // Postgres ends the dead process's session and its locks with it: number 1 is free again.
      const next = leasingProcess(runId);
      try {
        expect(await next.workerId).toBe(1);
      } finally {
        next.child.kill('SIGKILL');
      }
    } finally {
      second.child.kill('SIGKILL');
      third.child.kill('SIGKILL');
    }
  });

  it('keeps one number per process and run, and frees it when released', async () => {
    const runId = newRunId();
    const state = stateOf(runId);
    expect(await leaseWorkerId(state)).toBe(1);
    expect(await leaseWorkerId(state)).toBe(1);
    const other = leasingProcess(runId);
    try {
      expect(await other.workerId).toBe(2);
    } finally {
      other.child.kill('SIGKILL');
    }
    await releaseWorkerId();
    const after = leasingProcess(runId);
    try {
      expect(await after.workerId).toBe(1);
    } finally {
      after.child.kill('SIGKILL');
    }
  });

  it("takes the runner's number where it gives one, and writes a leased one to PGWORK_WORKER_ID", async () => {
    const state = stateOf(newRunId());
    expect(await ensureWorkerId(state, { JEST_WORKER_ID: '3' })).toBe(3);
    const env: NodeJS.ProcessEnv = {};
    expect(await ensureWorkerId(state, env)).toBe(1);
    expect(env.PGWORK_WORKER_ID).toBe('1');
  });

  it('runs in different runs do not share numbers: each run counts from 1', async () => {
    const a = leasingProcess(newRunId());
    const b = leasingProcess(newRunId());
    try {
      expect(await Promise.all([a.workerId, b.workerId])).toEqual([1, 1]);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }
  });
});
