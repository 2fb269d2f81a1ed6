import { adapterTestVitestConfig } from '@pgwork/core/testing';

// The same tests under Vitest: the conformance kit runs on either runner.
export default adapterTestVitestConfig();
