import { leaseSlots } from '../src/setup/slots';
import { expandWorkerEnv } from '../src/shared/run-state';

describe('{slot} leases', () => {
  it('gives two live runs different blocks, and a released block to the next run', async () => {
    const first = await leaseSlots(4);
    const second = await leaseSlots(4);
    try {
      expect(second.base).not.toBe(first.base);
      expect([first.base % 100, second.base % 100]).toEqual([0, 0]);
      first.release();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const third = await leaseSlots(4);
      // The lowest free block: the first run's again, unless another run on the machine took it meanwhile.
      expect(third.base).not.toBe(second.base);
      third.release();
    } finally {
      second.release();
    }
  });

  it('expands {slot} and {slot+N} per worker, and refuses a run too big for a block', async () => {
    const target = { database: 'd', url: 'postgres://h/d', appUrl: 'postgres://h/d', runId: 'abcd1234', source: 's' };
    expect(expandWorkerEnv('{slot+6400}:{slot}', 3, target, 200)).toBe('6603:203');
    await expect(leaseSlots(100)).rejects.toThrow(/unique for up to 99 workers a run, and this run may start 100/);
  });
});
