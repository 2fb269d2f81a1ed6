import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDeadRunDirectories } from '../src/setup/embedded';

describe('embedded cluster directories of dead runs', () => {
  it('removes only pgwork directories whose owning process is gone', async () => {
    const base = mkdtempSync(join(tmpdir(), 'pgwork-sweep-'));
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const dir = (name: string, owner?: object) => {
      mkdirSync(join(base, name, 'data-0'), { recursive: true });
      if (owner) writeFileSync(join(base, name, 'pgwork-owner.json'), JSON.stringify(owner));
    };
    dir('pgwork-dead', { pid: deadPid });
    dir('pgwork-alive', { pid: process.pid });
    dir('pgwork-unowned');
    dir('other-dead', { pid: deadPid });
    try {
      expect(await removeDeadRunDirectories(base)).toEqual([join(base, 'pgwork-dead')]);
      expect(readdirSync(base).sort()).toEqual(['other-dead', 'pgwork-alive', 'pgwork-unowned']);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
