import { startTestServer } from './server';

export default startTestServer;
