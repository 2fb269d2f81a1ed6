import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAlive } from '../src/shared/child';

(existsSync('/proc/self/stat') ? describe : describe.skip)('isAlive', () => {
  it('calls a process that has exited but is not reaped yet (a zombie) gone, though it still takes signals', async () => {
    // The child exits once its parent has exec'd into sleep, which never reaps it (a shell might, before the exec).
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(
        await new Promise<string>((done) => parent.stdout.once('data', (chunk) => done(String(chunk)))),
      );
      for (let tries = 0; readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z'; tries++) {
        if (tries > 400) throw new Error('the child did not exit');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(isAlive(pid)).toBe(false);
      expect(isAlive(parent.pid!)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
