import { startTestServer } from './server';

export = startTestServer;
