// Bounded fast-check runs, replayable: FC_SEED=<seed printed by a failure> FC_RUNS=<n> npm run test:istio.
import type fc from 'fast-check';

export function fcParameters(defaultRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FC_SEED;
  const runs = process.env.FC_RUNS;
  return {
    numRuns: runs === undefined ? defaultRuns : Number(runs),
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    // A counterexample shrinks by re-asking the oracle; keep that bounded too.
    endOnFailure: false,
    verbose: 1,
  };
}
