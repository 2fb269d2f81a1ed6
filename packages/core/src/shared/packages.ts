import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface InstalledPackage {
  /** The package's directory. */
  dir: string;
  version: string;
}

/**
 * The copy of a package a project would load, found from `fromDir` as Node
 * resolves it: works for packages whose exports map hides package.json.
 */
export function installedPackage(name: string, fromDir: string): InstalledPackage | undefined {
  let entry: string;
  try {
    entry = require.resolve(`${name}/package.json`, { paths: [fromDir] });
    return read(dirname(entry));
  } catch {
    // exports may hide package.json: resolve the entry point and walk up to the manifest
  }
  try {
    entry = require.resolve(name, { paths: [fromDir] });
  } catch {
    return undefined;
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === name) return read(dir);
  }
  return undefined;
}

function read(dir: string): InstalledPackage {
  return { dir, version: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version };
}
