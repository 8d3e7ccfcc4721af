// Production entry point (the container runs this). It never invents certificates.
import { run } from './run.js';

await run(process.env);
