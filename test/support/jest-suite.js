// The jest config shared by the suites that run apart from `npm test` (test/e2e, test/chart, test/differential):
// the root package.json's ts-jest ESM setup, one worker (each suite drives real servers), a globalSetup that builds
// the suite's binaries before any test timeout starts ticking, and a timeout for real servers.
import { fileURLToPath } from 'node:url';

const rootTsconfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/** @returns {import('jest').Config} */
export function suiteConfig(extra = {}) {
  return {
    rootDir: '.',
    roots: ['<rootDir>'],
    testMatch: ['**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    extensionsToTreatAsEsm: ['.ts'],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: rootTsconfig }] },
    testEnvironment: 'node',
    globalSetup: '<rootDir>/global-setup.js',
    testTimeout: 5 * 60_000,
    maxWorkers: 1,
    ...extra,
  };
}
