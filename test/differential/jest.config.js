// Jest config for the differential tests: egress-guard's verdicts against Istio's own code (test/istio/oracle).
// Run: npm run test:istio. global-setup.js builds the oracle and passes its path in ISTIO_ORACLE_BIN.
import { suiteConfig } from '../support/jest-suite.js';

export default suiteConfig();
