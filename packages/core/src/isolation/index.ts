import type { RunState } from '../shared/run-state';
import type { Isolation } from './contract';
import { databaseIsolation } from './database';
import { schemaIsolation } from './schema';
import { serverIsolation } from './server';

/** Every isolation mode, by the name users choose it by. A new mode is one module and one line here. */
const ISOLATIONS: { readonly [Mode in RunState['mode']]: Isolation<Extract<RunState, { mode: Mode }>> } = {
  database: databaseIsolation,
  schema: schemaIsolation,
  server: serverIsolation,
};

export function isolationOf<Mode extends RunState['mode']>(mode: Mode): Isolation<Extract<RunState, { mode: Mode }>> {
  return ISOLATIONS[mode];
}
