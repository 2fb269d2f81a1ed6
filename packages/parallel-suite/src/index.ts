export { APP_MODULE, suiteApp, type Url, type UrlShortenerApp } from './app';
export { Probe, useSuite, slugs, pause } from './probe';
export { suiteConfig, TESTS_DIR, type SuiteConfigOptions } from './jest';
