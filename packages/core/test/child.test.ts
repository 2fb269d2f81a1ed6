import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childFile, compiledFile, isAlive, runChild } from '../src/shared/child';

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

describe('childFile', () => {
  it('runs an adapter in src/ with its child from dist/, and refuses a dist/ child older than its source', () => {
    const root = mkdtempSync(join(tmpdir(), 'pgwork-childfile-'));
    try {
      for (const folder of ['src', 'dist']) mkdirSync(join(root, folder));
      const [source, compiled] = [join(root, 'src/child.ts'), join(root, 'dist/child.js')];
      writeFileSync(source, '');
      writeFileSync(compiled, '');
      utimesSync(source, 1_000, 1_000);
      expect(childFile(join(root, 'src'), 'child')).toBe(compiled);
      utimesSync(source, 3_000_000_000, 3_000_000_000);
      expect(() => childFile(join(root, 'src'), 'child')).toThrow(
        `${compiled} is older than ${source}; build the package again.`,
      );
      // Run from dist/ (an installed package), the child beside it is the one, whatever src/ holds.
      expect(childFile(join(root, 'dist'), 'child')).toBe(compiled);
      rmSync(compiled);
      expect(() => childFile(join(root, 'src'), 'child')).toThrow(/cannot find .*; build the package first/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('runChild', () => {
  /** Runs a child file whose body is `body` (childMain is in scope). */
  async function runBody(body: string, timeoutMs = 60_000) {
    const dir = mkdtempSync(join(tmpdir(), 'pgwork-child-'));
    try {
      const file = join(dir, 'child.js');
      const main = JSON.stringify(compiledFile(join(__dirname, '../src/shared'), 'child.js'));
      writeFileSync(file, `const { childMain } = require(${main});\n${body}`);
      return await runChild(file, null, { cwd: dir, timeoutMs });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('returns once the child answers, though project code left a timer and a server running in it', async () => {
    const started = Date.now();
    const body = `childMain(() => {
  setInterval(() => {}, 1000);
  require('node:net').createServer().listen(0);
  return 42;
});`;
    await expect(runBody(body)).resolves.toBe(42);
    // Well under the timeout (the child would otherwise live until it).
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("reports an error whose first line only introduces it with its next line (ts-node's compile errors)", async () => {
    const body = `childMain(() => {
  throw new Error('⨯ Unable to compile TypeScript:\\nmigrations/1_a.ts(3,7): error TS2322: nope\\n\\nmore');
});`;
    await expect(runBody(body)).rejects.toThrow(
      /^⨯ Unable to compile TypeScript: migrations\/1_a\.ts\(3,7\): error TS2322: nope$/,
    );
  });

  it("reports the uncaught error of a child that died before answering, not Node's version banner", async () => {
    const body = `process.nextTick(() => { throw new TypeError("Cannot read properties of undefined (reading 'fileExists')"); });`;
    await expect(runBody(body)).rejects.toThrow(
      /^TypeError: Cannot read properties of undefined \(reading 'fileExists'\)$/,
    );
  });
});
