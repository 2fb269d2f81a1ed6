import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PgworkError } from './errors';

/**
 * One place for hashing, so every adapter fingerprints the same way: each part
 * is length-prefixed, so ["ab","c"] and ["a","bc"] never collide.
 */
export function hashParts(parts: ReadonlyArray<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part) : part;
    hash.update(`${bytes.length}:`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/** Files under a directory (recursively), as sorted paths relative to it with forward slashes. */
export function listFiles(dir: string, include: (relativePath: string) => boolean = () => true): string[] {
  const found: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const rel = relative(dir, full).split(sep).join('/');
        if (include(rel)) found.push(rel);
      }
    }
  };
  walk(dir);
  return found.sort();
}

/**
 * A digest of names (relative to `baseDir`, so moving the project keeps it; an
 * absolute path is made relative) and contents: renaming, editing, adding or
 * removing a file changes it.
 */
export function hashFiles(baseDir: string, paths: readonly string[]): string {
  const names = paths.map((path) => (isAbsolute(path) ? relative(baseDir, path).split(sep).join('/') : path));
  const parts: Array<string | Buffer> = [];
  for (const name of names.sort()) parts.push(name, readFileSync(join(baseDir, name)));
  return hashParts(parts);
}

export function hashDirectory(dir: string, include?: (relativePath: string) => boolean): string {
  return hashFiles(dir, listFiles(dir, include));
}

/** A directory the user named in an option: must exist, or the error names the option and the path. */
export function requireDirectory(path: string, option: string): string {
  return requirePath(path, option, 'directory');
}

/** A file the user named (or pgwork defaulted) in an option: must exist, or the error names the option and the path. */
export function requireFile(path: string, option: string): string {
  return requirePath(path, option, 'file');
}

function requirePath(path: string, option: string, kind: 'file' | 'directory'): string {
  let found: boolean;
  try {
    const stat = statSync(path);
    found = kind === 'file' ? stat.isFile() : stat.isDirectory();
  } catch {
    found = false;
  }
  if (!found) {
    const fix = `create it or fix the ${option} option`;
    throw new PgworkError('INVALID_OPTION', `${option} points at ${path}, which is not a ${kind}; ${fix}.`);
  }
  return path;
}

/**
 * Files matching glob patterns (`*`, `?`, `**`), as absolute sorted paths. A
 * pattern without wildcards names a file, or a directory whose files all count.
 * Enough for the schema globs ORM configs use; no braces or character classes.
 */
export function globFiles(baseDir: string, patterns: readonly string[]): string[] {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const absolute = (isAbsolute(pattern) ? pattern : resolve(baseDir, pattern)).split(sep).join('/');
    const wildcard = absolute.search(/[*?]/);
    if (wildcard === -1) {
      let isDirectory = false;
      try {
        isDirectory = statSync(absolute).isDirectory();
      } catch {
        continue;
      }
      if (isDirectory) for (const file of listFiles(absolute)) found.add(join(absolute, file));
      else found.add(absolute);
      continue;
    }
    const root = absolute.slice(0, absolute.lastIndexOf('/', wildcard));
    const rest = absolute.slice(root.length + 1);
    const source = rest
      .split(/(\*\*\/|\*|\?)/)
      .map((part) =>
        part === '**/'
          ? '(?:.*/)?'
          : part === '*'
            ? '[^/]*'
            : part === '?'
              ? '[^/]'
              : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    const matcher = new RegExp(`^${source}$`);
    let files: string[] = [];
    try {
      files = listFiles(root, (file) => matcher.test(file));
    } catch {
      continue;
    }
    for (const file of files) found.add(join(root, file));
  }
  return [...found].sort();
}
