import { adapterChoice } from '../src/shared/choices';

describe('adapter choices', () => {
  it("validates an adapter's choice option, naming the adapter, the key and the choices", () => {
    expect(adapterChoice('drizzle', 'mode', undefined, ['push', 'migrations'])).toBe('push');
    expect(adapterChoice('drizzle', 'mode', 'migrations', ['push', 'migrations'])).toBe('migrations');
    expect(() => adapterChoice('drizzle', 'mode', 'generate' as never, ['push', 'migrations'])).toThrow(
      'pgwork: drizzle({ mode: "generate" }) is not understood; use "push" or "migrations".',
    );
  });
});
