// Jest config for the differential tests: egress-guard's verdicts against Istio's own code (test/istio/oracle).
// Run with `npm run test:istio`; global-setup.js builds the oracle and passes its path in ISTIO_ORACLE_BIN.
// Same ts-jest ESM setup as the root package.json "jest" field.
import { fileURLToPath } from 'node:url';

const rootTsconfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/** @type {import('jest').Config} */
export default {
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
};
