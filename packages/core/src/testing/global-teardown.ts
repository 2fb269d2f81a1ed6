import { stopTestServer } from './server';

export = stopTestServer;
