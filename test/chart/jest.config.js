// Jest config for the chart and monitoring tests (real helm, kubeconform, promtool and kube-apiserver).
// Run: npm run test:chart. global-setup.js builds the tools and the e2e binaries from their Go modules.
import { suiteConfig } from '../support/jest-suite.js';

export default suiteConfig();
