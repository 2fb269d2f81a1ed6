import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { idleSeconds } from '../src/setup/cluster';
import * as files from '../src/setup/cluster-files';

describe('the kept cluster lock and run registry', () => {
  const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

  it('takes over a lock whose holder died, and never one a live process holds', () => {
    const cluster = mkdtempSync(join(tmpdir(), 'pgwork-lock-'));
    try {
      mkdirSync(join(cluster, 'lock'));
      writeFileSync(join(cluster, 'lock', 'owner'), String(process.ppid)); // alive: our parent
      expect(files.tryLock(cluster)).toBe(false);
      writeFileSync(join(cluster, 'lock', 'owner'), String(deadPid()));
      expect(files.tryLock(cluster)).toBe(true);
      expect(readFileSync(join(cluster, 'lock', 'owner'), 'utf8')).toBe(String(process.pid));
      expect(files.tryLock(cluster)).toBe(false); // held now, by us
      files.unlock(cluster);
      expect(readdirSync(cluster)).toEqual([]);
    } finally {
      rmSync(cluster, { recursive: true, force: true });
    }
  });

  it('counts live runs only, and forgets the files of dead ones', () => {
    const cluster = mkdtempSync(join(tmpdir(), 'pgwork-runs-'));
    try {
      const dead = deadPid();
      files.registerRun(cluster);
      files.registerRun(cluster, dead);
      expect(files.liveRuns(cluster)).toEqual([process.pid]);
      expect(readdirSync(join(cluster, 'runs'))).toEqual([String(process.pid)]);
      files.unregisterRun(cluster);
      expect(files.liveRuns(cluster)).toEqual([]);
    } finally {
      rmSync(cluster, { recursive: true, force: true });
    }
  });

  it('reads the idle time in whole seconds and says how to fix anything else', () => {
    expect(idleSeconds({})).toBe(600);
    expect(idleSeconds({ PGWORK_EMBEDDED_IDLE_SECONDS: '0' })).toBe(0);
    expect(() => idleSeconds({ PGWORK_EMBEDDED_IDLE_SECONDS: '10m' })).toThrow(
      'PGWORK_EMBEDDED_IDLE_SECONDS must be a whole number of seconds (got "10m"); e.g. 600, or 0 to stop the server when the run ends.',
    );
  });
});
