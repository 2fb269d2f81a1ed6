import type { RunState } from '../src/shared/run-state';
import { resetBeforeFor, resetBeforeOfFile } from '../src/worker/lifecycle';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('when a test file resets', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'pgwork-docblock-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, source: string) => {
    writeFileSync(join(dir, name), source);
    return join(dir, name);
  };

  it('reads @pgwork-reset-before from the docblock at the top of the file only', () => {
    expect(
      resetBeforeOfFile(
        file('a.test.js', '/**\n * Scenario.\n * @pgwork-reset-before file\n */\ntest("x", () => {});'),
      ),
    ).toBe('file');
    expect(
      resetBeforeOfFile(file('b.test.js', '"use strict";\n/** @pgwork-reset-before never */\nrequire("x");')),
    ).toBe('never');
    const compiled =
      '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n/**\n * @pgwork-reset-before file\n */\nconst x = 1;';
    expect(resetBeforeOfFile(file('tsc.test.js', compiled))).toBe('file');
    expect(resetBeforeOfFile(file('c.test.js', 'const a = 1;\n/** @pgwork-reset-before file */'))).toBeUndefined();
    expect(resetBeforeOfFile(file('d.test.js', 'test("x", () => {});'))).toBeUndefined();
    expect(resetBeforeOfFile(undefined)).toBeUndefined();
    expect(() => resetBeforeOfFile(file('e.test.js', '/** @pgwork-reset-before suite */'))).toThrow(
      /e\.test\.js: @pgwork-reset-before suite is not understood; use test, file or never/,
    );
  });

  it('lets PGWORK_RESET_BEFORE win over the file, and the file over the option', () => {
    const scenario = file('s.test.js', '/** @pgwork-reset-before file */');
    const plain = file('p.test.js', '');
    const state = (resetBefore: 'test' | 'never', resetBeforeForced: boolean) =>
      ({ settings: { resetBefore, resetBeforeForced } }) as RunState;
    expect(resetBeforeFor(state('test', false), scenario)).toBe('file');
    expect(resetBeforeFor(state('never', false), plain)).toBe('never');
    expect(resetBeforeFor(state('test', true), scenario)).toBe('test');
  });
});
