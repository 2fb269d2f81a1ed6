export { APP_MODULE, loadSuiteApp, type Url, type UrlShortenerApp } from './app';
export { Probe, useSuite, slugs, pause } from './probe';
export { suiteConfig, TESTS_DIR, type SuiteConfigOptions } from './jest';
