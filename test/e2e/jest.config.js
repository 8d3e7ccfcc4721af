// Jest config for the end-to-end suite (real etcd, kube-apiserver, kube-controller-manager and kubectl).
// Run: npm run test:e2e. global-setup.js builds the binaries once (cold: 10-25 min).
import { suiteConfig } from '../support/jest-suite.js';

export default suiteConfig({
  // go/ holds only Go sources; .bin/ and .run/ hold binaries, etcd data and logs.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/go/', '/\\.bin/', '/\\.run/'],
  modulePathIgnorePatterns: ['<rootDir>/\\.bin/', '<rootDir>/\\.run/', '<rootDir>/go/'],
});
