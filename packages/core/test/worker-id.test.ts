import { resolveWorkerId } from '../src/shared/worker-id';
import { code } from './unit-helpers';

describe('worker identity', () => {
  it('reads JEST_WORKER_ID, defaults to 1, and lets PGWORK_WORKER_ID override', () => {
    expect(resolveWorkerId({ JEST_WORKER_ID: '3' })).toBe(3);
    expect(resolveWorkerId({})).toBe(1);
    expect(resolveWorkerId({ JEST_WORKER_ID: '3', PGWORK_WORKER_ID: '7' })).toBe(7);
  });

  it("reads Vitest's pool slot (not its ever-growing worker count), under PGWORK_WORKER_ID", () => {
    expect(resolveWorkerId({ VITEST_POOL_ID: '2', VITEST_WORKER_ID: '9' })).toBe(2);
    expect(resolveWorkerId({ VITEST_POOL_ID: '2', PGWORK_WORKER_ID: '5' })).toBe(5);
    expect(() => resolveWorkerId({ VITEST_POOL_ID: '0' })).toThrow(/VITEST_POOL_ID="0" is not a worker number/);
  });

  it("reads node:test's NODE_TEST_WORKER_ID (newer Node releases: 1..concurrency), under PGWORK_WORKER_ID", () => {
    expect(resolveWorkerId({ NODE_TEST_WORKER_ID: '4' })).toBe(4);
    expect(resolveWorkerId({ NODE_TEST_WORKER_ID: '4', PGWORK_WORKER_ID: '2' })).toBe(2);
    expect(() => resolveWorkerId({ NODE_TEST_WORKER_ID: 'x' })).toThrow(
      /NODE_TEST_WORKER_ID="x" is not a worker number/,
    );
  });

  it.each(['0', '-1', '1.5', 'abc', '1"; DROP DATABASE x; --', '01', '9999999', ' 2'])('rejects %j', (value) => {
    expect(code(() => resolveWorkerId({ JEST_WORKER_ID: value }))).toBe('INVALID_WORKER_ID');
    expect(code(() => resolveWorkerId({ PGWORK_WORKER_ID: value }))).toBe('INVALID_WORKER_ID');
  });

  it('names the variable and the fix in the error', () => {
    expect(() => resolveWorkerId({ PGWORK_WORKER_ID: 'x' })).toThrow(
      /PGWORK_WORKER_ID="x" is not a worker number; set it to a positive integer/,
    );
  });
});
