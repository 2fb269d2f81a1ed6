// Starts a Jest worker's services for startWorkerServicesSync, which waits for
// this process (its request on stdin): prints what started (or why not) as one JSON line and exits;
// the services' supervisors run on, owned by the worker.
import { readFileSync } from 'node:fs';
import { SUPERVISOR_ANSWER } from '../shared/services';
import { startServices, type StartRequest } from './services';

const request = JSON.parse(readFileSync(0, 'utf8')) as StartRequest;
startServices(request).then(
  (started) => {
    const answer = 'error' in started ? { error: started.error.message } : started;
    process.stdout.write(`${SUPERVISOR_ANSWER}${JSON.stringify(answer)}\n`);
  },
  (error: unknown) => {
    process.stdout.write(
      `${SUPERVISOR_ANSWER}${JSON.stringify({ error: String((error as Error)?.message ?? error) })}\n`,
    );
  },
);
