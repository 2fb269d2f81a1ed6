/**
 * How the examples' TypeScript is compiled under Jest (ts-jest) and under
 * node:test and Mocha (ts-node): transpile only (no type check per worker),
 * CommonJS so dynamic import() becomes require() (Jest's sandbox has no
 * import() without --experimental-vm-modules; Prisma's client uses it), and
 * decorators with metadata for TypeORM entities.
 */
export const TRANSPILE_OPTIONS = {
  isolatedModules: true,
  module: 'commonjs',
  target: 'es2022',
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
};
