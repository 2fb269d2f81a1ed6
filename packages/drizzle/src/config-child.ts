// Loads the drizzle config in a child process: it is TypeScript, and may read process.env.
import { childMain } from '@pgwork/core/adapter';

childMain<string, unknown>((configPath) => {
  const loaded = require(configPath);
  return (loaded?.__esModule ? loaded.default : (loaded.default ?? loaded)) ?? {};
});
