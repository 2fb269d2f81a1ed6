// How pgwork's Vitest files reach each other: the two files withPgwork adds to
// a config, and the keys they pass the options and the run's state under. For
// pgwork's own files only: @pgwork/core/vitest exports none of it.
import { compiledFile } from '../shared/child';

/** The binding's two files: ES modules, as Vitest wants them (they load the rest of pgwork with Node's require). */
export const vitestEntryPoints = Object.freeze({
  globalSetup: compiledFile(__dirname, 'global-setup.mjs'),
  setupFiles: compiledFile(__dirname, 'setup-file.mjs'),
});

/** The key under `test.provide` that carries pgwork's options to its globalSetup. */
export const OPTIONS_KEY = 'pgworkOptions';

/** The key workers `inject()` the run's state from. */
export const STATE_KEY = 'pgworkRun';
