// Jest config for the chart and monitoring tests (real helm, kubeconform, promtool and kube-apiserver).
// Run: npm run test:chart   (builds first; the tools are built from their Go modules on first use)
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
  // Builds the tools and the e2e binaries once, before any test timeout starts ticking.
  globalSetup: '<rootDir>/global-setup.js',
  testTimeout: 5 * 60_000,
  maxWorkers: 1,
};
