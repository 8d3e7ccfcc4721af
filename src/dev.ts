// `npm start`: the production server, plus a development CA and serving certificate when none exist.
import { ensureDevCertificates } from './certs/dev.js';
import { run } from './run.js';

await run(process.env, {
  prepare: async (config, logger) => {
    await ensureDevCertificates(config.tlsCertFile, config.tlsKeyFile, logger);
  },
});
