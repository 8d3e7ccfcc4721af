// Jest config for the end-to-end suite (real etcd + kube-apiserver + kubectl).
// Run: node --experimental-vm-modules node_modules/jest/bin/jest.js --config test/e2e/jest.config.js --runInBand
// Same ts-jest ESM setup as the root package.json "jest" field.
import { fileURLToPath } from 'node:url';

const rootTsconfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/** @type {import('jest').Config} */
export default {
  rootDir: '.',
  roots: ['<rootDir>'],
  testMatch: ['**/*.test.ts'],
  // go/ holds only Go sources; .bin/ and .run/ hold binaries, etcd data and logs.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/go/', '/\\.bin/', '/\\.run/'],
  modulePathIgnorePatterns: ['<rootDir>/\\.bin/', '<rootDir>/\\.run/', '<rootDir>/go/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: rootTsconfig }] },
  testEnvironment: 'node',
  // Builds the binaries once, before any test timeout starts ticking (cold: 10-25 min).
  globalSetup: '<rootDir>/global-setup.js',
  testTimeout: 5 * 60_000,
  maxWorkers: 1,
};
