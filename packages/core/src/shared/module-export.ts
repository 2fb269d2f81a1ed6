/** What a project module must export for pgwork, and where to look for it. */
export interface WantedExport<T> {
  /** Says whether an export is the wanted thing (a function, a DataSource, a config object). */
  accepts: (value: unknown) => value is T;
  /** What it is, for errors: "seed function", "DataSource". */
  what: string;
  /** The names it is usually exported under, tried in order. */
  usual: readonly string[];
  /** The export an option names: only that one is taken. */
  name?: string;
  /** Where a user names the export, for the error when several qualify. */
  option?: string;
  /** What the module should look like, for the error when nothing qualifies. */
  example?: string;
}

/**
 * The one export of a loaded module pgwork needs (run in child processes, on
 * the user's own seed, DataSource or config module): the export the option
 * names, else the first usual name that qualifies, else the module itself
 * (`module.exports = ...`), else the only export that qualifies. Errors are
 * plain one-line Errors: the parent words them for the option.
 */
export function pickExport<T>(loaded: unknown, wanted: WantedExport<T>): T {
  const { accepts, what, name } = wanted;
  const exports = (typeof loaded === 'object' || typeof loaded === 'function') && loaded ? loaded : {};
  const at = (key: string) => (exports as Record<string, unknown>)[key];
  if (name !== undefined) {
    const named = at(name);
    if (accepts(named)) return named;
    throw new Error(`the module has no ${what} export named ${name}`);
  }
  for (const key of wanted.usual) {
    const value = at(key);
    if (accepts(value)) return value;
  }
  if (accepts(loaded)) return loaded;
  const found = Object.values(exports).filter(accepts);
  if (found.length === 1) return found[0]!;
  if (found.length > 1) throw new Error(`the module exports ${found.length} ${what}s; name one with ${wanted.option}`);
  throw new Error(`the module exports no ${what}${wanted.example ? ` (${wanted.example})` : ''}`);
}
