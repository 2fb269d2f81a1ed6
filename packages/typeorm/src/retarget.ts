// Shared by the adapter (workerDataSourceOptions, in the test runner) and its child (migrate).

/** The same options aimed at another database: the URL replaces host, port, user, password and database. */
export function retargetOptions<T extends object>(options: T, url: string): T {
  const replaced = { host: undefined, port: undefined, username: undefined, password: undefined, database: undefined };
  return { ...options, ...replaced, url, synchronize: false, migrationsRun: false, dropSchema: false };
}
