// Vitest globalSetup (an ES module, as Vitest loads it): the work is in run.ts.
import { createRequire } from 'node:module';
import type * as Run from './run.js';

const { vitestGlobalSetup } = createRequire(import.meta.url)('./run.js') as typeof Run;

export default vitestGlobalSetup;
