// What pgwork uses of Bun's test runner, for the compiler (Bun provides them at run time).
declare module 'bun:test' {
  type Hook = (fn: () => Promise<void> | void, timeout?: number) => void;
  export const beforeEach: Hook;
  export const afterEach: Hook;
  export const afterAll: Hook;
}

/** The entry point Bun is running: under `bun test`, the test file whose tests run now. */
declare const Bun: { readonly main: string };
