// Judges egress-guard's handling of one proxy.istio.io/config text against Istio's reading of it: the pod is left
// unchanged, or Istio reads our output as the input plus our keys and its injector accepts it. A warning never says
// Istio rejects what Istio accepts.
import { planPodMutation, wantedProxyMetadata, type AutoAllocateMode } from '../../src/mutation/pod-mutation.js';
import type { InjectAnswer, IstioOracle } from './oracle.js';

// Warnings that say Istio would refuse the annotation (as opposed to "egress-guard does not edit this").
const REJECTION_CLAIMS = [/Istio needs/, /Istio rejects/, /not valid YAML/, /not valid JSON/];

export interface AnnotationVerdict {
  outcome: string;
  /** Empty when egress-guard agrees with Istio. */
  disagreements: string[];
  input: InjectAnswer;
  output?: InjectAnswer;
  warnings: string[];
}

export async function judgeAnnotation(
  oracle: IstioOracle,
  annotation: string,
  mode: AutoAllocateMode,
): Promise<AnnotationVerdict> {
  const pod = { metadata: { name: 'p', annotations: { 'proxy.istio.io/config': annotation } }, spec: {} };
  const plan = planPodMutation(pod, mode);
  const input = await oracle.inject(annotation);
  const disagreements: string[] = [];
  const wanted = wantedProxyMetadata(mode);
  if (plan.outcome === 'patched') {
    const output = await oracle.inject(plan.annotation);
    if (!input.accepted) {
      // Deliberate (README "Fidelity to Istio"): egress-guard does not type-check ProxyConfig fields besides
      // proxyMetadata; the patch must not make Istio accept what it rejected.
      if (output.accepted) disagreements.push(`Istio rejected the input (${input.error}) but accepts our output`);
    } else if (!output.accepted) {
      disagreements.push(`Istio accepts the input but rejects our output: ${output.error}`);
    } else {
      const expected = expectedReading(input, wanted);
      const got = JSON.stringify(sortKeys(output.proxyConfig));
      if (got !== JSON.stringify(sortKeys(expected)))
        disagreements.push(`Istio reads our output as ${got}, expected ${JSON.stringify(sortKeys(expected))}`);
    }
    return { outcome: plan.outcome, disagreements, input, output, warnings: plan.warnings };
  }
  if (plan.outcome === 'unchanged' && input.accepted) {
    // We believe every key is there already: Istio must see each of them, with the value a warning names.
    for (const key of Object.keys(wanted)) {
      const value = input.proxyMetadata?.[key];
      if (value === undefined) disagreements.push(`left unchanged, but Istio reads no proxyMetadata.${key}`);
      else if (value !== wanted[key] && !plan.warnings.some((w) => w.includes(`proxyMetadata ${key}=`)))
        disagreements.push(`Istio reads ${key}="${value}", which no warning names`);
    }
  }
  if (input.accepted) {
    for (const warning of plan.warnings)
      if (REJECTION_CLAIMS.some((claim) => claim.test(warning)))
        disagreements.push(`warning claims a rejection Istio does not make: ${warning}`);
  }
  return { outcome: plan.outcome, disagreements, input, warnings: plan.warnings };
}

/** Istio's reading of the input with each wanted key it lacks added: what it must read from our output. */
function expectedReading(input: InjectAnswer, wanted: Readonly<Record<string, string>>): Record<string, unknown> {
  const metadata: Record<string, string> = { ...(input.proxyMetadata ?? {}) };
  for (const [key, value] of Object.entries(wanted)) if (!Object.hasOwn(metadata, key)) metadata[key] = value;
  return { ...(input.proxyConfig ?? {}), proxyMetadata: metadata };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}
