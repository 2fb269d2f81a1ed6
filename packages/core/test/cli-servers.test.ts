import type { CliProject } from '../src/cli/project';
import { distinctServers } from '../src/cli/servers';

describe('the CLI: servers of a multi-project config', () => {
  const project = (name: string, rootDir: string, url: string | undefined, isolation = 'database') =>
    ({ name, rootDir, isolation, server: { url, source: 'test' } }) as unknown as CliProject;
  const names = (projects: CliProject[]) => projects.map((p) => p.name);

  it('visits the embedded cache once, whatever rootDir and isolation each project has', () => {
    const env = { PGWORK_EMBEDDED_DIR: '/tmp/pgwork-cache' };
    const projects = [project('api', '/repo/api', undefined), project('web', '/repo/web', undefined, 'server')];
    expect(names(distinctServers(projects, env))).toEqual(['api']);
  });

  it('visits a URL once, and its per-worker servers once more under server isolation', () => {
    const url = 'postgres://u@db:5432/app';
    const projects = [project('a', '/r/a', url), project('b', '/r/b', url), project('c', '/r/c', url, 'server')];
    expect(names(distinctServers(projects))).toEqual(['a', 'c']);
  });
});
